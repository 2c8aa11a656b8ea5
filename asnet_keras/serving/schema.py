"""The query parameters of each endpoint, as one typed schema per endpoint.

A request's query string is validated against its endpoint's model before the route runs
(FastAPI query-parameter models): numbers must be finite and in range, enumerations one
of their values, aspect ratios parsable, and a name the endpoint does not know is refused
too (a misspelt `?maps=fixation` would otherwise be silently ignored). Whatever fails
costs one 422 whose `detail` names each bad parameter and its value
(`validation_message`), in the shape of `asnet_keras.parameters`:

    scale='inf': Input should be a finite number

The OpenAPI description (`/openapi.json`) lists each field with its type, range and
allowed values, and the hostile-parameter tests are generated from it, so a parameter
added here is tested without anyone listing it (docs/serving.md §7).

To add a parameter to an endpoint, add a field to its model (one place per endpoint).
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from asnet_keras.inference import cropping
from asnet_keras.inference.maps import MAP_KINDS
from asnet_keras.inference.outputs import OutputKind

MAX_ASPECTS = 16  # aspect ratios one request may ask for


def _lower(value):
    """Enumerations are matched case-insensitively (`format=PNG`)."""
    return value.lower() if isinstance(value, str) else value


def _check_aspects(text):
    """The comma list of aspect ratios, checked (`cropping.parse_aspects`), at most
    `MAX_ASPECTS` of them; returned as written."""
    aspects = cropping.parse_aspects(text)
    if len(aspects) > MAX_ASPECTS:
        raise ValueError(f"{len(aspects)} aspect ratios: pass at most {MAX_ASPECTS}")
    return text


MapKind = Annotated[Literal[tuple(MAP_KINDS)], BeforeValidator(_lower), Field(
    description="the map: saliency (the final map) or fixation (the fixation head's)")]
Scale = Annotated[float, Field(
    gt=0, le=1, allow_inf_nan=False,
    description="the crop window as a fraction of the largest one of its aspect ratio, "
                "a finite number in (0, 1] (docs/serving.md §2)")]
Aspects = Annotated[str, AfterValidator(_check_aspects), Field(
    min_length=1, max_length=1000, examples=["16:9", "16:9,1:1"],
    description=f"aspect ratios WIDTH:HEIGHT, comma-separated (at most {MAX_ASPECTS}), "
                "each between 1:100 and 100:1, e.g. 16:9 or 16:9,1:1,1.91:1")]


class _MapQuery(BaseModel):
    """What both image endpoints take: which map, the crop scale, the image inline."""

    model_config = ConfigDict(extra="forbid")

    map: MapKind = "saliency"
    scale: Scale = 1.0
    include_image: bool = Field(
        False, description="also answer the image as the service decoded it (/predict) "
                           "or each crop (/crop), base64")


class PredictQuery(_MapQuery):
    """`POST /predict`: the maps of the uploaded image."""

    format: Annotated[Literal["png", "json"] | None, BeforeValidator(_lower), Field(
        description="png: the map named by `map` as a grey PNG; json: every map with its "
                    "statistics; default: from the Accept header, else png")] = None
    crop: Aspects | None = None
    output: Annotated[OutputKind, BeforeValidator(_lower), Field(
        description="map: the maps (as format says); mask, cutout (RGBA), background or "
                    "overlay: that output of the map named by `map`, as PNG "
                    "(docs/outputs.md §1)")] = OutputKind.map

    @property
    def aspects(self):
        """`crop` as a list of `cropping.Aspect` (empty without `crop`)."""
        return cropping.parse_aspects(self.crop) if self.crop is not None else []


class CropQuery(_MapQuery):
    """`POST /crop`: the crop keeping the most saliency."""

    aspect: Aspects
    format: Annotated[Literal["json", "png", "jpeg"], BeforeValidator(_lower), Field(
        description="json: the boxes; png or jpeg: the cropped image itself (one aspect "
                    "ratio), its box in the X-Crop-Box header")] = "json"

    @property
    def aspects(self):
        """`aspect` as a list of `cropping.Aspect`."""
        return cropping.parse_aspects(self.aspect)


#: The query model of each endpoint that takes parameters, by path.
QUERY_MODELS = {"/predict": PredictQuery, "/crop": CropQuery}

_SHOWN_CHARACTERS = 40  # of a refused value, in the message


def _shown(value):
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "…'"


def validation_message(errors, path):
    """FastAPI's validation errors (`RequestValidationError.errors()`) of a request to
    `path` → one line per error, each naming the parameter and its value, joined by "; "."""
    lines = []
    for error in errors:
        where, name = (list(error.get("loc", ())) + ["", ""])[:2]
        name = name if where == "query" else ".".join(map(str, error.get("loc", ())))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            lines.append(f"missing parameter '{name}': {_field_help(path, name)}")
        elif error.get("type") == "extra_forbidden":
            known = ", ".join(QUERY_MODELS[path].model_fields) if path in QUERY_MODELS \
                else "none"
            lines.append(f"unknown parameter {name}={_shown(error.get('input'))}: the "
                         f"parameters of {path} are {known}")
        else:
            lines.append(f"{name}={_shown(error.get('input'))}: {message}")
    return "; ".join(lines)


def _field_help(path, name):
    model = QUERY_MODELS.get(path)
    field = model.model_fields.get(name) if model else None
    return field.description if field is not None and field.description else "required"
