"""The JSON Schema of a spec, for editors (`"$schema": "../registry/schema.json"`)."""

from __future__ import annotations

import json

from mrsynth.spec.experiment import Experiment


def spec_schema() -> dict:
    schema = Experiment.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mrsynth experiment spec"
    schema["properties"] = {"$schema": {"type": "string", "description": "Path of this schema, for editors."}, **schema["properties"]}
    return schema


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
