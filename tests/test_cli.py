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
