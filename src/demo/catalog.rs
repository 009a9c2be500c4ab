//! What the demo agent works with: its models and their prices, its tools and how they fail,
//! its tasks, and the paths, URLs and words its calls mention.

/// An LLM the demo agent can route to, with its price per million tokens.
#[derive(Debug)]
pub(super) struct Model {
    pub(super) name: &'static str,
    pub(super) provider: &'static str,
    pub(super) usd_per_m_input: f64,
    pub(super) usd_per_m_output: f64,
    /// Generation speed, for plausible call durations.
    pub(super) ms_per_output_token: f64,
    /// Relative chance of being picked for a session.
    pub(super) weight: f64,
    /// The same, for sessions after the demo's change date (the agent moved to dearer models).
    pub(super) weight_after_change: f64,
}

/// The price table. Tests check every stored cost against these numbers.
pub(super) const MODELS: [Model; 5] = [
    Model {
        name: "claude-sonnet-4",
        provider: "anthropic",
        usd_per_m_input: 3.0,
        usd_per_m_output: 15.0,
        ms_per_output_token: 14.0,
        weight: 0.30,
        weight_after_change: 0.85,
    },
    Model {
        name: "gpt-4o",
        provider: "openai",
        usd_per_m_input: 2.5,
        usd_per_m_output: 10.0,
        ms_per_output_token: 12.0,
        weight: 0.25,
        weight_after_change: 0.10,
    },
    Model {
        name: "gpt-4o-mini",
        provider: "openai",
        usd_per_m_input: 0.15,
        usd_per_m_output: 0.6,
        ms_per_output_token: 7.0,
        weight: 0.15,
        weight_after_change: 0.0,
    },
    Model {
        name: "gemini-2.0-flash",
        provider: "google",
        usd_per_m_input: 0.1,
        usd_per_m_output: 0.4,
        ms_per_output_token: 5.0,
        weight: 0.15,
        weight_after_change: 0.05,
    },
    Model {
        name: "llama3.1:8b",
        provider: "ollama",
        usd_per_m_input: 0.0,
        usd_per_m_output: 0.0,
        ms_per_output_token: 25.0,
        weight: 0.15,
        weight_after_change: 0.0,
    },
];

/// A tool with its latency spread: log-normal around `median_ms`.
pub(super) struct Tool {
    pub(super) name: &'static str,
    pub(super) median_ms: f64,
    pub(super) sigma: f64,
    pub(super) weight: f64,
}

pub(super) const TOOLS: [Tool; 8] = [
    Tool { name: "web_search", median_ms: 900.0, sigma: 0.6, weight: 0.16 },
    Tool { name: "read_file", median_ms: 12.0, sigma: 0.8, weight: 0.16 },
    Tool { name: "write_file", median_ms: 25.0, sigma: 0.8, weight: 0.10 },
    Tool { name: "run_code", median_ms: 1800.0, sigma: 0.8, weight: 0.14 },
    Tool { name: "sql_query", median_ms: 60.0, sigma: 1.0, weight: 0.12 },
    Tool { name: "http_request", median_ms: 300.0, sigma: 1.0, weight: 0.12 },
    Tool { name: "browser_navigate", median_ms: 6000.0, sigma: 0.7, weight: 0.08 },
    Tool { name: "github_search", median_ms: 1200.0, sigma: 0.8, weight: 0.12 },
];

/// The tool that gets slower after the demo's change date, and by how much.
pub(super) const SLOWER_TOOL: &str = "web_search";
pub(super) const SLOWDOWN: f64 = 5.0;

/// Chance that a tool call fails (then an `error` event follows its result).
pub(super) const TOOL_FAILURE_RATE: f64 = 0.03;
/// Chance that a tool call is a very slow outlier (10–50× its usual latency).
pub(super) const TOOL_OUTLIER_RATE: f64 = 0.005;
pub(super) const FAILURE_REASONS: [&str; 5] = ["timeout", "timeout", "timeout", "connection reset", "HTTP 503"];
pub(super) const SWITCH_REASONS: [&str; 4] =
    ["rate limited", "context length exceeded", "cheaper model for a simple step", "provider error: 529 overloaded"];
pub(super) const ROUTING_REASONS: [&str; 3] =
    ["routing rule: default", "routing rule: code task", "routing rule: long context"];

pub(super) const TASKS: [&str; 20] = [
    "Triage new GitHub issues",
    "Draft release notes",
    "Compare three LLM providers on cost",
    "Scrape pricing pages and build a table",
    "Refactor the payment module",
    "Research vector databases",
    "Find flaky tests in CI logs",
    "Fix the failing build",
    "Summarize the open pull requests",
    "Answer the support ticket #4411",
    "Migrate the user table to the new schema",
    "Write unit tests for the parser",
    "Résumé: translate the onboarding guide to German (Grüße)",
    "Investigate the latency spike in the checkout API",
    "Collect competitor feature matrix",
    "Clean up stale feature flags",
    "Generate the weekly metrics report",
    "日本語のドキュメントを要約する",
    "Audit dependencies for known CVEs",
    "Plan the Q3 roadmap from customer feedback",
];

pub(super) const PATHS: [&str; 8] = [
    "src/main.py",
    "README.md",
    "tests/test_api.py",
    "docs/pricing.md",
    "data/report.csv",
    "src/payments/gateway.py",
    "ci/logs/build-1842.txt",
    "notes/résumé-draft.md",
];

pub(super) const URLS: [&str; 6] = [
    "https://api.github.com/repos/acme/shop/issues?state=open",
    "https://docs.example.com/pricing",
    "https://status.openai.com/api/v2/status.json",
    "https://example.org/blog/vector-databases-compared",
    "https://ci.example.com/job/build/1842/console",
    "https://de.wikipedia.org/wiki/Größe",
];

/// Words for raw I/O and short texts; some non-ASCII so escaping and truncation by
/// characters get exercised.
pub(super) const WORDS: [&str; 40] = [
    "the",
    "agent",
    "tool",
    "query",
    "result",
    "search",
    "file",
    "data",
    "plan",
    "step",
    "model",
    "token",
    "error",
    "retry",
    "context",
    "user",
    "answer",
    "table",
    "price",
    "latency",
    "and",
    "with",
    "for",
    "from",
    "issue",
    "build",
    "test",
    "a",
    "is",
    "to",
    "naïve",
    "ünïcødé",
    "日本語",
    "🙂",
    "Grüße",
    "café",
    "Ελληνικά",
    "привет",
    "数据",
    "—",
];
