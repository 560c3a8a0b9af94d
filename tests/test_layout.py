"""A story laid out in a table cell comes out as paragraphs; a table of data stays a table."""

from __future__ import annotations

from ingest.extract import extract, parse
from ingest.layout import is_layout

STORY = [
    "The harbour authority opened the new container terminal on Tuesday, two years late, after a long dispute.",
    "Its operators said the cranes had been tested and that the first ships from Rotterdam were booked for April.",
    "The town council, which paid for the new access road, said it expected some two hundred jobs at the terminal.",
]
NOTICE = "Readers are encouraged to verify information with primary sources before relying on it, as always here."


def _laid_out() -> str:
    paragraphs = "".join(f"<p>{text}</p>" for text in [*STORY, NOTICE])
    return (
        "<html><body><table><tr><td class='menu'><a href='/'>Home</a> <a href='/news'>News</a></td></tr>"
        f"<tr valign='top'><td class='single_content'><h1>Terminal opens</h1><div class='article_body'>{paragraphs}"
        "</div></td><td class='sidebar'><p>Weather: sunny</p></td></tr></table></body></html>"
    )


def test_a_story_in_a_layout_table_cell_comes_out_as_its_paragraphs() -> None:
    lines = extract(_laid_out()).text.splitlines()
    for paragraph in [*STORY, NOTICE]:
        assert paragraph in lines  # each its own line, not one cell of all of them
    assert not any(line.startswith("|") for line in lines)


def test_a_table_of_data_stays_a_table() -> None:
    rows = "".join(f"<tr><td>Team {i}</td><td>{i * 3}</td><td>{10 - i}</td></tr>" for i in range(6))
    body = "".join(f"<p>{text}</p>" for text in STORY)
    page = f"<html><body><article><h1>Results</h1>{body}<table>{rows}</table></article></body></html>"
    tree = parse(page)
    assert tree.find(".//table") is not None and not is_layout(tree.find(".//table"))
    text = extract(page).text
    assert "Team 3" in text and STORY[0] in text
    # A layout table holding a data table: the outer one is read as blocks, the inner one stays a table.
    nested = f"<html><body><table><tr><td><h1>Results</h1>{body}<table>{rows}</table></td></tr></table></body></html>"
    tables = parse(nested).findall(".//table")
    assert len(tables) == 1 and not is_layout(tables[0])
