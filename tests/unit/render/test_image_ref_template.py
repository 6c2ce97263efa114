"""``--image-ref-template`` failures as opm reports them.

opm (``cmd/opm/render``) parses the template with ``template.New("image-ref-template").Parse``;
``Render.renderBundleDirectory`` (operator-registry ``alpha/action/render.go``) executes it and wraps a
failure as ``failed templating image reference from bundle for %q: %v``, and ``Render.Run`` adds
``render reference %q: ``.  The execution error is Go ``text/template``'s ``state.errorf``:
``template: NAME:LINE:COL: executing "NAME" at <CONTEXT>: MSG``, where ``LINE:COL`` is
``parse.Tree.ErrorContext`` of the field node (COL: its byte offset within its line, from 0) and
``MSG`` is ``can't evaluate field F in type action.imageReferenceTemplateData``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
TYPE = "action.imageReferenceTemplateData"


@pytest.mark.parametrize(
    ("template", "where", "field"),
    [
        ("x/{{.Foo}}:v1", "1:4", "Foo"),
        ("x/{{ .Package }}:{{  .Bogus }}", "1:21", "Bogus"),
        ("{{.Name}}\n{{- .package -}}", "2:4", "package"),
    ],
)
def test_unknown_field_is_gos_execution_error(tmp_path: Path, template: str, where: str, field: str) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(WIDGET, bundle)
    with pytest.raises(RenderError) as exc:
        render_refs([str(bundle)], options=RenderOptions(image_ref_template=template))
    assert str(exc.value) == (
        f'render reference "{bundle}": failed templating image reference from bundle for "{bundle}": '
        f'template: image-ref-template:{where}: executing "image-ref-template" at <.{field}>: '
        f"can't evaluate field {field} in type {TYPE}"
    )


@pytest.mark.parametrize("template", ["x/{{.Package", "x/{{ .Package }}:{{- .Version ", "{{.Name"])
def test_unclosed_action_is_refused_before_rendering(tmp_path: Path, template: str) -> None:
    """cmd/opm/render: ``template.New("image-ref-template").Parse`` fails before anything is rendered
    (``log.Fatalf("invalid image reference template: %v")``), whatever the references are; the lexer's
    "unclosed action" is reported as ``template: NAME:LINE: unclosed action``."""
    catalog = tmp_path / "fbc"  # not a bundle: opm refuses the template all the same
    catalog.mkdir()
    (catalog / "c.json").write_text('{"schema":"olm.package","name":"p"}\n')
    with pytest.raises(RenderError) as exc:
        render_refs([str(catalog)], options=RenderOptions(image_ref_template=template))
    assert (
        str(exc.value) == "invalid image reference template: template: image-ref-template:1: unclosed action"
    )
    assert exc.value.kind == "usage"


def test_bad_package_property_fails_the_template(tmp_path: Path) -> None:
    """templateBundleImageRef unmarshals the first ``olm.package`` property into ``property.Package``
    before executing the template; its error is the templating error, wrapped like an execution one
    (without a template the same property fails later, in ObjectsAndPropertiesFromBundle)."""
    bundle = tmp_path / "b"
    shutil.copytree(WIDGET, bundle)
    (bundle / "metadata" / "properties.yaml").write_text(
        "properties:\n- type: olm.package\n  value: {packageName: 1, version: 1.0.0}\n"
    )
    with pytest.raises(RenderError) as exc:
        render_refs([str(bundle)], options=RenderOptions(image_ref_template="x/{{.Package}}"))
    assert str(exc.value) == (
        f'render reference "{bundle}": failed templating image reference from bundle for "{bundle}": '
        "json: cannot unmarshal number into Go struct field Package.packageName of type string"
    )
