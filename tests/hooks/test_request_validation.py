"""Bad input fails before any request, naming the field, the value and what is allowed."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_nanobanana.exceptions import NanoBananaInvalidRequestError
from airflow_provider_nanobanana.hooks import acedata, modelslab
from airflow_provider_nanobanana.jobs import ImageJobRequest, JobKind

URL = "https://example.com/in.png"


def generate(**fields):
    return ImageJobRequest(kind=JobKind.GENERATE, prompt=fields.pop("prompt", "a cat"), **fields)


def rejects(build, request, field, allowed_fragment):
    with pytest.raises(NanoBananaInvalidRequestError) as error:
        build(request)
    assert error.value.field == field
    assert allowed_fragment in str(error.value)
    assert field in str(error.value)
    return error.value


def modelslab_enterprise(request):
    return modelslab.build_submission(request, "enterprise")


def modelslab_v7(request):
    return modelslab.build_submission(request, "v7")


def acedata_default(request):
    return acedata.build_submission(request, "nano-banana")


@pytest.mark.parametrize("build", [modelslab_enterprise, modelslab_v7, acedata_default])
@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_empty_prompt_is_rejected_by_every_endpoint(build, prompt):
    rejects(build, ImageJobRequest(kind=JobKind.GENERATE, prompt=prompt), "prompt", "non-empty")


@pytest.mark.parametrize(
    ("field", "value"), [("width", 1000), ("width", 2080), ("height", 1030), ("height", 512)]
)
def test_modelslab_size_must_be_1024_to_2048_divisible_by_32(field, value):
    error = rejects(
        modelslab_enterprise, generate(**{field: value}), field, "from 1024 to 2048 divisible by 32"
    )
    assert error.value == value


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("noise_scale_start", 31, "from 0 to 30"),
        ("noise_scale_end", -0.5, "from 0 to 30"),
        ("noise_clip_std", 10.5, "from 0 to 10"),
        ("noise_clip_std", "2.5", "from 0 to 10"),
    ],
)
def test_modelslab_noise_options_outside_their_documented_ranges_are_refused(option, value, allowed):
    rejects(modelslab_enterprise, generate(options={option: value}), f"options.{option}", allowed)


@pytest.mark.parametrize("seed", [-1, 4_294_967_296, 1.5])
def test_modelslab_seed_is_a_32_bit_unsigned_integer(seed):
    rejects(modelslab_enterprise, generate(seed=seed), "seed", "from 0 to 4294967295")


def test_modelslab_accepts_the_edges_of_every_documented_range():
    call = modelslab_enterprise(
        generate(
            seed=4_294_967_295, options={"noise_scale_start": 0, "noise_scale_end": 30, "noise_clip_std": 10}
        )
    )
    assert call.body["seed"] == 4_294_967_295
    assert call.body["noise_scale_end"] == 30


@pytest.mark.parametrize("count", [0, 5, True])
def test_modelslab_samples_between_1_and_4(count):
    rejects(modelslab_enterprise, generate(count=count), "count", "from 1 to 4")


def test_modelslab_flags_accept_yes_no_and_booleans():
    call = modelslab_enterprise(generate(options={"watermark": True, "temp": "no", "base64": False}))
    assert call.body["watermark"] == "yes"
    assert call.body["temp"] == "no"
    assert call.body["base64"] == "no"
    rejects(
        modelslab_enterprise, generate(options={"watermark": "maybe"}), "options.watermark", '"yes", "no"'
    )


def test_modelslab_enterprise_body_carries_every_documented_field():
    request = ImageJobRequest(
        kind=JobKind.IMG2IMG,
        prompt="watercolor",
        images=(URL,),
        width=2048,
        height=1024,
        count=2,
        seed=42,
        negative_prompt="blurry",
        options={
            "noise_scale_start": 7.5,
            "noise_scale_end": 7.5,
            "noise_clip_std": 2.5,
            "keep_original_aspect": "no",
            "watermark": "no",
            "temp": "no",
            "base64": "no",
            "track_id": "t-1",
            "webhook": "https://hooks.example/done",
        },
    )
    call = modelslab_enterprise(request)
    assert call.path == "/api/v1/enterprise/nano_banana/img2img"
    assert call.is_submission
    assert call.body == {
        "prompt": "watercolor",
        "ref_image": URL,
        "width": 2048,
        "height": 1024,
        "samples": 2,
        "seed": 42,
        "negative_prompt": "blurry",
        "noise_scale_start": 7.5,
        "noise_scale_end": 7.5,
        "noise_clip_std": 2.5,
        "keep_original_aspect": "no",
        "watermark": "no",
        "temp": "no",
        "base64": "no",
        "track_id": "t-1",
        "webhook": "https://hooks.example/done",
    }
    assert "key" not in call.body


def test_modelslab_img2img_sends_several_references_as_a_list_and_edit_uses_multi_ref():
    assert modelslab_enterprise(ImageJobRequest(kind=JobKind.IMG2IMG, prompt="p", images=(URL, URL))).body[
        "ref_image"
    ] == [URL, URL]
    call = modelslab_enterprise(ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(URL,)))
    assert call.path.endswith("/multi_ref")
    assert call.body["ref_image"] == [URL]


def test_modelslab_keep_original_aspect_only_applies_to_img2img():
    rejects(
        modelslab_enterprise,
        generate(options={"keep_original_aspect": "yes"}),
        "options.keep_original_aspect",
        "not a known ModelsLab option",
    )


def test_modelslab_enterprise_refuses_fields_it_does_not_have():
    rejects(
        modelslab_enterprise,
        generate(aspect_ratio="1:1"),
        "aspect_ratio",
        "not supported by ModelsLab enterprise",
    )
    rejects(modelslab_enterprise, generate(model="nano-banana-pro"), "model", "runs one model")


def test_modelslab_v7_models_and_image_rules():
    assert modelslab_v7(generate()).body == {"prompt": "a cat", "model_id": "nano-banana-t2i"}
    rejects(modelslab_v7, generate(model="nano-banana-2"), "model", "nano-banana-t2i, nano-banana-pro")
    rejects(modelslab_v7, generate(width=1024), "width", "not supported by ModelsLab v7")
    two = modelslab_v7(ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(URL, URL + "?2")))
    assert (two.body["init_image"], two.body["init_image_2"]) == (URL, URL + "?2")
    rejects(
        modelslab_v7, ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(URL,)), "images", "exactly 2"
    )
    pro = modelslab_v7(
        ImageJobRequest(
            kind=JobKind.EDIT, prompt="p", images=(URL,) * 3, model="nano-banana-pro", aspect_ratio="16:9"
        )
    )
    assert pro.body["init_image"] == [URL] * 3
    assert pro.path == "/api/v7/images/image-to-image"
    rejects(
        modelslab_v7,
        ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(URL,) * 15, model="nano-banana-pro"),
        "images",
        "1 to 14",
    )


def test_unknown_api_family_is_named():
    with pytest.raises(NanoBananaInvalidRequestError, match="api_family"):
        modelslab.build_submission(generate(), "v6")


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        ({"model": "nano-banana-3"}, "model", "nano-banana-pro:official"),
        ({"count": 5}, "count", "from 1 to 4"),
        ({"aspect_ratio": "5:4"}, "aspect_ratio", "16:9"),
        ({"resolution": "8K"}, "resolution", "no model here takes '8K'"),
        ({"resolution": "2K"}, "resolution", "one of 1K for nano-banana (2K is taken by nano-banana-2,"),
        (
            {"model": "nano-banana-2-lite:official", "resolution": "4K"},
            "resolution",
            "one of 1K for nano-banana-2-lite",
        ),
        ({"width": 1024}, "width", "aspect_ratio and resolution"),
        ({"options": {"webhook": "x"}}, "options.webhook", "not a known AceData option"),
        ({"options": {"async": "yes"}}, "options.async", "True or False"),
    ],
)
def test_acedata_rejects_each_documented_constraint(fields, field, allowed):
    rejects(acedata_default, generate(**fields), field, allowed)


def test_acedata_edit_needs_images_and_img2img_exactly_one():
    rejects(acedata_default, ImageJobRequest(kind=JobKind.EDIT, prompt="p"), "images", "at least one")
    rejects(
        acedata_default,
        ImageJobRequest(kind=JobKind.IMG2IMG, prompt="p", images=(URL, URL)),
        "images",
        "exactly one",
    )


def test_acedata_data_uri_limit_is_10_mb():
    small = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"0" * 100).decode()
    call = acedata_default(ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(small,)))
    assert call.body["image_urls"] == [small]
    big = "data:image/png;base64," + base64.b64encode(b"0" * (10 * 1024 * 1024 + 1)).decode()
    error = rejects(
        acedata_default,
        ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=(big,)),
        "images[0]",
        "at most 10485760 bytes",
    )
    assert "base64," not in str(error), "the message must not dump the payload"
    rejects(
        acedata_default,
        ImageJobRequest(kind=JobKind.EDIT, prompt="p", images=("ftp://x",)),
        "images[0]",
        "data:image",
    )


def test_acedata_defaults_to_async_and_takes_every_documented_field():
    call = acedata.build_submission(
        ImageJobRequest(
            kind=JobKind.GENERATE,
            prompt="p",
            count=3,
            aspect_ratio="16:9",
            resolution="4K",
            options={"callback_url": "https://hooks.example/cb"},
        ),
        "nano-banana-pro:official",
    )
    assert call.body == {
        "action": "generate",
        "prompt": "p",
        "model": "nano-banana-pro:official",
        "count": 3,
        "aspect_ratio": "16:9",
        "resolution": "4K",
        "async": True,
        "callback_url": "https://hooks.example/cb",
    }


BUILDERS = [modelslab_enterprise, modelslab_v7, acedata_default]


@pytest.mark.parametrize("build", BUILDERS)
def test_a_prompt_longer_than_any_backing_model_takes_is_refused(build):
    error = rejects(build, generate(prompt="banana " * 20_000), "prompt", "at most 30000 characters")
    assert "140000 characters" in str(error), "the message says how long the prompt was"


@pytest.mark.parametrize("build", BUILDERS)
@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f"])
def test_a_prompt_with_a_control_character_is_refused(build, control):
    rejects(build, generate(prompt=f"a cat{control}on a mat"), "prompt", "position 5")


@pytest.mark.parametrize("build", BUILDERS)
def test_tabs_and_newlines_in_a_prompt_are_fine(build):
    build(generate(prompt="a cat\n\ton a mat\r\n"))


@pytest.mark.parametrize("text", ['{"watermark": "no"}', "{'watermark': 'no'}"])
def test_options_rendered_to_the_text_of_a_dict_are_read(text):
    assert generate(options=text).options == {"watermark": "no"}


@pytest.mark.parametrize("text", ["watermark=no", "[1, 2]", "__import__('os')"])
def test_options_text_that_is_not_a_json_object_names_the_field(text):
    with pytest.raises(NanoBananaInvalidRequestError) as error:
        generate(options=text)
    assert error.value.field == "options"
    assert "the text of a JSON object" in str(error.value)
    assert "dictionary update sequence" not in str(error.value)


@pytest.mark.parametrize("build", [modelslab_v7, acedata_default])
def test_a_model_templated_to_an_empty_string_does_not_fall_back_to_the_default(build):
    rejects(build, generate(model=""), "model", "one of")


def test_s3_inputs_pass_validation_so_the_image_count_is_checked_before_any_download():
    two = ImageJobRequest(kind=JobKind.IMG2IMG, prompt="p", images=("s3://b/one.png", "s3://b/two.png"))
    error = rejects(acedata_default, two, "images", "exactly one reference image")
    assert "s3://b/one.png" in str(error), "the error shows the values the DAG gave"
