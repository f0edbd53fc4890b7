"""Drop repeated inline <script> blocks from every page.

In a jupyter-book build, sphinx-thebe's configuration script (``const THEBE_JS_URL = …``) and
sphinx-togglebutton's selector reach every page twice (registered once with file name None and once
with ''), and the second copy raised "Identifier 'THEBE_JS_URL' has already been declared" on the
browser console. Sphinx de-duplicates script files by name but not inline bodies; this does.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    first: dict = {}  # (file, attributes) -> the copy that loads earliest (lowest priority)
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", str(js)) or None, tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in first or getattr(js, "priority", 500) < getattr(first[key], "priority", 500):
            first[key] = js
    keep = {id(js) for js in first.values()}
    context["script_files"] = [js for js in scripts if id(js) in keep]


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
