"""After `--workers N`: a dead worker fails the search only when the study lacks what it left behind."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState, create_trial

from mrsynth.search.local import WorkerExit
from mrsynth.search.objective import worker_id
from mrsynth.search.verdict import judge_workers

DIST = {"x": optuna.distributions.FloatDistribution(0, 1)}
KILLED, SURVIVED = WorkerExit(0, 101, -9), WorkerExit(1, 102, 0)


def trial(state: TrialState, pid: int, **attrs):
    value = 1.0 if state == TrialState.COMPLETE else None
    return create_trial(state=state, value=value, params={"x": 0.5}, distributions=DIST,
                        user_attrs={"worker": worker_id(pid), **attrs.pop("user_attrs", {})}, **attrs)


def judged(*trials, n_trials: int = 2, exits=(KILLED, SURVIVED), timeout=None):
    study = optuna.create_study()
    for t in trials:
        study.add_trial(t)
    return judge_workers(study.trials, list(exits), n_trials, timeout)


def rerun_of(number: int, state: TrialState, **attrs):
    return trial(state, 102, system_attrs={"failed_trial": number, "retry_history": [number]}, **attrs)


def test_a_killed_workers_trial_rerun_to_completion_is_a_success_that_names_the_worker():
    stopped, notes, problems = judged(trial(TrialState.FAIL, 101), trial(TrialState.COMPLETE, 102),
                                      rerun_of(0, TrialState.COMPLETE))
    assert stopped == "done" and not problems
    assert notes == ["worker 0 (pid 101) was killed by SIGKILL; its trial 0 was re-run as trial 2 (COMPLETE)"]


def test_a_rerun_that_fails_for_a_reason_of_its_own_still_accounts_for_the_trial():
    stopped, _, problems = judged(trial(TrialState.FAIL, 101), trial(TrialState.COMPLETE, 102),
                                  rerun_of(0, TrialState.FAIL, user_attrs={"fail_reason": "QC drops every slice"}))
    assert stopped == "done" and not problems


def test_a_lost_trial_left_failed_or_unfinished_fails_the_search_and_says_which():
    stopped, _, problems = judged(trial(TrialState.FAIL, 101), trial(TrialState.COMPLETE, 102), n_trials=1)
    assert stopped == "workers failed"
    assert problems == ["worker 0 (pid 101) was killed by SIGKILL; its trial 0 failed and was not re-run"]
    _, _, problems = judged(trial(TrialState.RUNNING, 101), trial(TrialState.COMPLETE, 102), n_trials=1)
    assert problems == ["worker 0 (pid 101) was killed by SIGKILL; its trial 0 is still RUNNING"]
    _, _, problems = judged(trial(TrialState.FAIL, 101), trial(TrialState.COMPLETE, 102),
                            rerun_of(0, TrialState.WAITING), n_trials=1)
    assert problems == ["worker 0 (pid 101) was killed by SIGKILL; its trial 0 was queued again as trial 2, which is left WAITING"]


def test_missing_trials_fail_the_search_unless_a_timeout_ended_it():
    crashed = WorkerExit(0, 101, 1)
    stopped, notes, problems = judged(trial(TrialState.COMPLETE, 102), n_trials=3, exits=(crashed, SURVIVED))
    assert stopped == "workers failed" and notes == ["worker 0 (pid 101) exited with code 1; it left no trial unfinished"]
    assert problems == ["the study has 1 of 3 trials accounted for"]
    assert judged(trial(TrialState.COMPLETE, 102), n_trials=3, exits=(crashed, SURVIVED), timeout=60.0)[0] == "done"


def test_ctrl_c_and_clean_exits_are_judged_as_before():
    assert judged(trial(TrialState.COMPLETE, 102), exits=(WorkerExit(0, 101, 130), SURVIVED))[0] == "interrupted"
    assert judged(trial(TrialState.COMPLETE, 101), trial(TrialState.COMPLETE, 102), exits=(WorkerExit(0, 101, 0), SURVIVED)) \
        == ("done", [], [])
