"""Training commands: run, predict, compare, ui."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrsynth.cli.spec_cmds import add_set_option


def add_tracking_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", default=None, metavar="URI",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite file mlruns/mlflow.db)")


def register(commands) -> None:
    p = commands.add_parser("run", help="preprocess (cached), train, evaluate and track one spec",
                            description="Run a spec end to end: cached preprocessing and slices, QC filter, training "
                                        "(GPU when present), validation, test evaluation, MLflow run and registry record.")
    p.add_argument("spec", type=Path, metavar="SPEC")
    add_set_option(p)
    p.add_argument("--resume", action="store_true", help="continue the latest unfinished run of this spec hash")
    add_tracking_option(p)
    p.add_argument("--workers", type=int, default=None, help="parallel preprocessing processes (default: one per core)")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="data-parallel training processes (DistributedDataParallel via torchrun; one per GPU, gloo on CPU)")
    p.set_defaults(handler=run)

    p = commands.add_parser("predict", help="apply a trained model to a NIfTI volume",
                            description="MODEL is an MLflow run id, a registry spec name or hash, or a model file. The input "
                                        "gets the training spec's preprocessing; the output has the input's shape and affine.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("input", type=Path, metavar="INPUT.nii.gz")
    p.add_argument("output", type=Path, metavar="OUTPUT.nii.gz")
    p.add_argument("--mask", type=Path, default=None, metavar="M", help="brain mask of the input (overrides any method)")
    p.add_argument("--skull-strip", default=None, choices=["deepbet", "threshold", "ants_mask", "none"],
                   help="how to find the input's brain mask (default: the spec's method; deepbet for specs trained "
                        "on provided masks)")
    p.add_argument("--preprocessed", action="store_true",
                   help="INPUT is already preprocessed by the model's spec (normalised to [-1, 1] inside --mask, e.g. a "
                        "run's cached source): no skull strip, N4 or normalisation; gives the run's own prediction")
    add_tracking_option(p)
    p.set_defaults(handler=predict)

    p = commands.add_parser("compare", help="spec differences and headline metrics of runs side by side",
                            description="Each argument is a spec name (its latest finished run), a spec hash or a run id.")
    p.add_argument("keys", nargs="+", metavar="RUN")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (for a README or a pull request)")
    p.set_defaults(handler=compare)

    p = commands.add_parser("ui", help="MLflow UI on 127.0.0.1 over the project's tracking store")
    p.add_argument("--port", type=int, default=5000)
    add_tracking_option(p)
    p.set_defaults(handler=ui)


def torchrun_command(args: argparse.Namespace) -> list[str]:
    """The same `mrsynth run`, started by torchrun in `--nproc` processes."""
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={args.nproc}",
           "-m", "mrsynth", "run", str(args.spec)]
    cmd += [f"--set={o}" for o in args.overrides]
    cmd += ["--resume"] if args.resume else []
    cmd += [f"--tracking-uri={args.tracking_uri}"] if args.tracking_uri else []
    cmd += [f"--workers={args.workers}"] if args.workers else []
    return cmd


def run(args: argparse.Namespace) -> int:
    from mrsynth.spec.load import load_spec

    spec = load_spec(args.spec, args.overrides)  # fail fast, before any process starts
    if spec.kind == "motion_qc":
        from mrsynth.cli.motion_cmds import run_motion

        return run_motion(spec, args)
    if args.nproc > 1:
        import subprocess

        return subprocess.run(torchrun_command(args)).returncode
    from mrsynth.train.runner import run_experiment
    from mrsynth.train.summary import summary_lines

    result = run_experiment(spec, tracking_uri=args.tracking_uri, resume=args.resume, workers=args.workers)
    if not result.run_id:
        return 0  # a non-zero torchrun rank: rank 0 reports
    print(f"{spec.name}: run {result.run_id} {result.status}")
    if result.reason:
        print(f"  reason: {result.reason}")
    for line in summary_lines(result.metrics, spec.experiment.eval.select_by):
        print(f"  {line}")
    print(f"  tracking: {result.tracking_uri}")
    print("  open the UI: mrsynth ui   (or make ui), then http://127.0.0.1:5000")
    return 0 if result.status == "FINISHED" else 1


def predict(args: argparse.Namespace) -> int:
    from mrsynth.predict import predict_file

    out = predict_file(args.model, args.input, args.output, args.mask, args.tracking_uri, args.skull_strip,
                       say=lambda line: print(line, flush=True), preprocessed=args.preprocessed)
    print(f"wrote {out}")
    return 0


def compare(args: argparse.Namespace) -> int:
    from mrsynth.compare import compare as compare_runs

    print(compare_runs(args.keys, markdown=args.markdown))
    return 0


def ui_command(uri: str, port: int) -> list[str]:
    import sys

    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]  # one local user: mlflow's default 4 workers double the start-up time on 2 cores


def ui(args: argparse.Namespace) -> int:
    from mrsynth.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    print(f"MLflow UI for {uri} at http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    return serve_until_stopped(ui_command(uri, args.port))


def serve_until_stopped(command: list[str]) -> int:
    """Run the server in its own process group and end the whole group on Ctrl-C or SIGTERM: mlflow's server
    process does not pass SIGINT on to the workers it starts, so exec'ing it left a UI that ignored kill -INT."""
    import os
    import signal
    import subprocess

    server = subprocess.Popen(command, start_new_session=True)

    def stop(signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C is how a server is meant to stop: exit 0
        for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=grace)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
