#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Run from the repository root: python3 fuzz/seeds/make_seeds.py
Seeds are real-looking values: timestamps of every form, `data` values of every event type
from tests/data/skynette-40.db, and small databases cut from it (a few sessions, 512-byte
pages) in the forms real files take: rollback journal, WAL header, old schema, odd values.
"""
import hashlib
import os
import random
import sqlite3
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "data", "skynette-40.db")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

# Must match trace_inspector::fuzzing::KINDS.
KINDS = ["state_change", "plan_created", "step_started", "step_completed", "step_failed",
         "tool_called", "tool_result", "message", "error", "budget_warning", "budget_exceeded",
         "iteration_limit", "completed", "cancelled", "model_selected", "model_switched",
         "trace_started", "trace_ended", "llm_call", "mcp_tool_call", "custom_failed", "x", "",
         "tool"]


def put(target, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture():
    return sqlite3.connect("file:%s?immutable=1" % FIXTURE, uri=True)


def timestamps():
    forms = [
        "2026-11-20T09:59:07.754847+00:00", "2026-11-20T09:59:07+00:00", "2026-11-20T09:59:07Z",
        "2026-11-20 09:59:07", "2026-11-20 09:59:07.5", "2026-11-20T09:59:07.123456789Z",
        "2026-11-20T10:59:07+0100", "2026-11-20T08:59:07-01:00", "2026-11-20T09:59:07 UTC",
        "2026-11-20T09:59:07 +00:00", "2026-11-20t09:59:07z", "2026-11-20T09:59", "2026-11-20",
        "2026-11-20T09:59:07,25Z", "2016-12-31T23:59:60Z", "1763632747", "1763632747123",
        "1763632747123456", "1763632747123456789", "1763632747.5", "1.7e9", "-5e10", "0",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
        "2026-11-20T25:00:00Z", "2026-11-20T09:59:07+24:00", "1900-01-01T00:00:00Z",
        "2200-12-31T23:59:59.999999999Z", "1899-12-31T23:59:59Z", "yesterday", " ",
        "2026-11-20T09:59:07+00:00garbage", "Thu, 20 Nov 2026 09:59:07 GMT", "NaN", "inf",
    ]
    for form in forms:
        put("timestamp", form.encode())
    with fixture() as c:
        for (t,) in c.execute("SELECT timestamp FROM agent_traces ORDER BY rowid LIMIT 5"):
            put("timestamp", t.encode())


def data_json():
    with fixture() as c:
        rows = c.execute(
            "SELECT type, data, model_used IS NOT NULL FROM agent_traces "
            "WHERE rowid IN (SELECT min(rowid) FROM agent_traces GROUP BY type, model_used IS NULL)"
        ).fetchall()
    for kind, data, has_model in rows:
        put("data_json", bytes([KINDS.index(kind), has_model]) + data.encode())
    odd = [
        (8, b'{"error": {"code": 500, "detail": ["a", "b"]}, "success": false}'),
        (6, b'{"tool": "read_file", "success": false, "error": "no such file"}'),
        (6, b'{"tool": "read_file", "tool": "write_file"}'),
        (2, b'{"step_id": 7, "description": null}'),
        (21, b'["not", "an", "object"]'),
        (7, b'"just a string"'),
        (7, b'{"role": "assistant", "content": "unterminated'),
        (16, b'{"task": "' + "\u00e9\u65e5\U0001f642\\n\\t".encode() + b'"}'),
        (9, b'{"used": 1e400, "max": 1}'),
        (0, b"[" * 200 + b"]" * 200),
        (0, b'{"x": ' + b"[" * 200 + b"]" * 200 + b"}"),
        (22, b'\xff\xfe{"a": 1}'),
    ]
    for kind, data in odd:
        put("data_json", bytes([kind, 1]) + data)


def spans():
    rng = random.Random(42)
    for n in (0, 8, 24, 47):
        for _ in range(3):
            put("spans", bytes([rng.randrange(256), rng.randrange(256), n]) + rng.randbytes(40 * n))


def small_db(out, journal, keep_sessions=2, old_schema=False, odd_rows=False):
    if os.path.exists(out):
        os.remove(out)
    src = fixture()
    ids = [r[0] for r in src.execute(
        "SELECT id FROM agent_trace_sessions ORDER BY started_at LIMIT ?", (keep_sessions,))]
    dst = sqlite3.connect(out)
    dst.execute("PRAGMA page_size=512")
    dst.execute("PRAGMA journal_mode=DELETE")
    for (name, sql) in src.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('table','index')"):
        if odd_rows and name == "agent_traces":
            # No types and no constraints: any value of any type, NULLs and duplicate ids.
            sql = "CREATE TABLE agent_traces (%s)" % ", ".join(
                r[1] for r in src.execute("PRAGMA table_info(agent_traces)"))
        dst.execute(sql)
    marks = ",".join("?" * len(ids))
    for (table, column) in (("agent_trace_sessions", "id"), ("agent_traces", "session_id")):
        rows = src.execute("SELECT * FROM %s WHERE %s IN (%s)" % (table, column, marks), ids).fetchall()
        if rows:
            dst.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * len(rows[0]))), rows)
    dst.execute("INSERT INTO trace_settings VALUES ('retention_days', '30')")
    # Short raw I/O keeps the seeds small; the shape is what matters.
    dst.execute("UPDATE agent_traces SET raw_input = substr(raw_input, 1, 80), raw_output = substr(raw_output, 1, 80)")
    if old_schema:
        for column in ("input_tokens", "output_tokens", "cost_usd", "model_used", "provider_used",
                       "raw_input", "raw_output"):
            dst.execute("ALTER TABLE agent_traces DROP COLUMN %s" % column)
    if odd_rows:
        dst.executemany(
            "INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, parent_trace_id, "
            "data, input_tokens, cost_usd, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                ("odd-1", ids[0], "tool_result", "2026-02-30T00:00:00Z", "fast", "odd-1", "{broken", 2**62, "0.5", ""),
                ("odd-2", ids[0], "message", 1763632747123, -5, "odd-3", '{"a": 1}', "12", 1e308, ""),
                ("odd-3", ids[0], "error", None, 1e308, "odd-2", "[]", None, None, ""),
                (None, "ghost", "x", "yesterday", None, None, "", None, None, ""),
                (b"\x00\xff", None, b"blob", "2026-11-20 09:59:07", 0, None, "null", 2**62, "text", ""),
            ],
        )
        dst.execute("UPDATE agent_traces SET data = CAST(x'7b2261223a2022fffe227d' AS TEXT) WHERE id = 'odd-2'")
    dst.commit()
    dst.execute("VACUUM")
    if journal == "wal":
        dst.execute("PRAGMA journal_mode=WAL")
    dst.close()


def open_db():
    with tempfile.TemporaryDirectory() as tmp:
        variants = [
            dict(journal="delete"),
            dict(journal="wal"),
            dict(journal="delete", keep_sessions=1, old_schema=True),
            dict(journal="delete", keep_sessions=1, odd_rows=True),
        ]
        for i, v in enumerate(variants):
            path = os.path.join(tmp, "seed%d.db" % i)
            small_db(path, **v)
            with open(path, "rb") as f:
                put("open_db", f.read())
    put("open_db", b"")
    put("open_db", b"\x00not sqlite at all")
    put("open_db", b"SQLite format 3\x00" + bytes(84))


if __name__ == "__main__":
    timestamps()
    data_json()
    spans()
    open_db()
    for target in sorted(os.listdir(CORPUS)):
        folder = os.path.join(CORPUS, target)
        files = os.listdir(folder)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        print("%-10s %4d files %8d bytes" % (target, len(files), size))
