"""The `kb` command as an editor or developer runs it."""
import json

from tests.conftest import FIXTURE_CONTENT


def test_search_json_and_explain(runner, kb_cli, built_data_dir):
    args = ["--data-dir", str(built_data_dir), "search", "tillstånd för parkering", "--json"]
    result = runner.invoke(kb_cli, args, env={"KB_TODAY": "2026-11-23"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["hits"][0]["id"] == "parkeringstillstand-rorelsehindrad"
    explained = runner.invoke(kb_cli, ["--data-dir", str(built_data_dir), "search", "grovsopor", "--explain"])
    assert "keyword rank 1" in explained.output and "cosine" in explained.output


def test_search_without_index_is_a_clear_error(runner, kb_cli, tmp_path):
    result = runner.invoke(kb_cli, ["--data-dir", str(tmp_path), "search", "dagis"])
    assert result.exit_code == 1
    assert "no index" in result.output and "run `kb index` first" in result.output


def test_bench_quality_json_has_exact_shape(runner, kb_cli, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "soffa slänga", "relevant": ["grovsopor-lamna"]}\n'
                       '{"query": "tillstånd för parkering", "relevant": ["parkeringstillstand-rorelsehindrad"]}\n')
    result = runner.invoke(kb_cli, ["bench", "quality", "--content", str(FIXTURE_CONTENT), "--queries", str(queries),
                                    "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"methods"} and set(data["methods"]) == {"keyword", "vector", "hybrid"}
    for method in data["methods"].values():
        assert {"recall@1", "recall@5", "mrr@10", "p50_ms", "p95_ms"} <= set(method)
    assert data["methods"]["hybrid"]["recall@1"] == 1.0


def test_settings_lists_every_env_variable(runner, kb_cli):
    result = runner.invoke(kb_cli, ["settings"])
    assert "KB_DATA_DIR" in result.output and "KB_EMBEDDING_MODEL" in result.output


def test_bad_setting_value_is_a_usage_error(runner, kb_cli):
    result = runner.invoke(kb_cli, ["lint"], env={"KB_VECTOR_BACKEND": "annoy"})
    assert result.exit_code == 2 and "flat, flat16, hnsw" in result.output


def test_help_lists_every_command_and_each_resolves(runner, kb_cli):
    from web.cli import COMMAND_MODULES

    result = runner.invoke(kb_cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in [*COMMAND_MODULES, "lint", "review", "settings"]:
        assert f"  {name} " in result.output, name
        assert runner.invoke(kb_cli, [name, "--help"]).exit_code == 0, name


def test_index_command_does_not_load_the_web_stack():
    """`kb index` runs on every content change: it must not pay for Flask, SQLAlchemy and alembic."""
    import subprocess
    import sys

    code = ("import sys; from web.cli import cli\n"
            "try:\n    cli(['index', '--help'], prog_name='kb')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'alembic', 'indexer.cli') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['indexer.cli']"
