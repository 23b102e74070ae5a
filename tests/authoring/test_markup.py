from promptsmith.authoring.markup import LineIndex, line_col, mask_markup, outline, tokenize

DOC = """<prompt>
  <!-- note <not a tag> -->
  <role kind="a>b">Agent</role>
  <rules>
    <rule>One</rule>
    <rule>Two &amp; <![CDATA[<raw>]]></rule>
  </rules>
  <empty/>
</prompt>"""


def test_tokens_cover_the_text_exactly() -> None:
    tokens = tokenize(DOC)
    assert "".join(t.source(DOC) for t in tokens) == DOC
    kinds = {t.kind for t in tokens}
    assert {"start", "end", "empty", "comment", "cdata", "text"} <= kinds


def test_stray_angle_bracket_is_text() -> None:
    text = "a < b and c<d"
    assert [t.kind for t in tokenize(text)] == ["text"]


def test_loose_mode_accepts_odd_attributes() -> None:
    strict = tokenize("<rule x=1>a</rule>")
    loose = tokenize("<rule x=1>a</rule>", loose=True)
    assert strict[0].kind == "text"
    assert loose[0].kind == "start"
    assert loose[0].attrs == " x=1"


def test_outline_spans_and_paths() -> None:
    root = outline(DOC)
    assert [c.name for c in root.children] == ["role", "rules", "empty"]
    role, rules, empty = root.children
    assert role.inner(DOC) == "Agent"
    assert role.source(DOC) == '<role kind="a>b">Agent</role>'
    assert [c.path for c in rules.children] == ["prompt/rules/rule[1]", "prompt/rules/rule[2]"]
    assert empty.source(DOC) == "<empty/>"
    assert empty.inner(DOC) == ""
    assert role.path == "prompt/role"


def test_deepest_containing() -> None:
    root = outline(DOC)
    offset = DOC.index("Two")
    assert root.deepest_containing(offset, offset + 3).path == "prompt/rules/rule[2]"
    tag = DOC.index("<rule>")
    assert root.deepest_containing(tag, tag + 3).path == "prompt/rules"


def test_mask_markup_keeps_length_and_text() -> None:
    masked = mask_markup(DOC)
    assert len(masked) == len(DOC)
    assert "Agent" in masked
    assert "<role" not in masked
    assert "note" not in masked
    assert "<raw>" in masked  # CDATA content is text
    assert masked.count("\n") == DOC.count("\n")


def test_line_index() -> None:
    text = "ab\ncd\n\nef"
    index = LineIndex(text)
    assert index.line_col(0) == (1, 1)
    assert index.line_col(4) == (2, 2)
    assert index.line_col(7) == (4, 1)
    assert index.offset(4, 1) == 7
    assert line_col(text, 3) == (2, 1)
