"""The JSON Schema of a spec, for editors (`"$schema": "../registry/schema.json"`).

One file covers both experiment kinds: the top-level `kind` selects the translation schema (absent or
"translation") or the motion-QC schema ("motion_qc") through if/then/else.
"""

from __future__ import annotations

import json

from pydantic.json_schema import models_json_schema

from mrsynth.spec.experiment import Experiment
from mrsynth.spec.motion import MotionQCExperiment

SCHEMA_PROPERTY = {"type": "string", "description": "Path of this schema, for editors."}
KIND_DOC = "Experiment kind: `translation` (default when absent) or `motion_qc`."


def spec_schema() -> dict:
    _, top = models_json_schema([(Experiment, "validation"), (MotionQCExperiment, "validation")])
    defs = top["$defs"]
    translation, motion = defs["Experiment"], defs["MotionQCExperiment"]
    translation["properties"] = {"$schema": SCHEMA_PROPERTY, "kind": {"const": "translation", "description": KIND_DOC},
                                 **translation["properties"]}
    motion["properties"] = {"$schema": SCHEMA_PROPERTY, **motion["properties"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mrsynth experiment spec",
        "description": "An mrsynth experiment; `kind` picks the schema (translation when absent).",
        "type": "object",
        "properties": {"$schema": SCHEMA_PROPERTY,
                       "kind": {"enum": ["translation", "motion_qc"], "default": "translation", "description": KIND_DOC}},
        "if": {"properties": {"kind": {"const": "motion_qc"}}, "required": ["kind"]},
        "then": {"$ref": "#/$defs/MotionQCExperiment"},
        "else": {"$ref": "#/$defs/Experiment"},
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
