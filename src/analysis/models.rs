//! The model table of a set of sessions: each model's calls, tokens and cost summed over the
//! sessions kept (the sessions table's filters), as the file's table sums them all.

use std::collections::{HashMap, HashSet};

use crate::model::{ModelUsage, SessionModelUsage};

/// The models of the sessions `keep` holds, costliest first (then most calls, then by name).
#[must_use]
pub fn usage_of(rows: &[SessionModelUsage], keep: &HashSet<&str>) -> Vec<ModelUsage> {
    let mut by_model: HashMap<&str, ModelUsage> = HashMap::new();
    for r in rows.iter().filter(|r| keep.contains(r.session_id.as_str())) {
        let u = &r.usage;
        let m = by_model
            .entry(u.model.as_str())
            .or_insert_with(|| ModelUsage { model: u.model.clone(), ..ModelUsage::default() });
        m.calls += u.calls;
        m.sessions += 1;
        m.input_tokens = m.input_tokens.saturating_add(u.input_tokens);
        m.output_tokens = m.output_tokens.saturating_add(u.output_tokens);
        m.cost_usd += u.cost_usd;
        // The file's table names the least provider, as SQL's MIN does.
        if let Some(p) = &u.provider
            && m.provider.as_ref().is_none_or(|q| p < q)
        {
            m.provider = Some(p.clone());
        }
    }
    let mut out: Vec<ModelUsage> = by_model.into_values().collect();
    out.sort_by(|a, b| {
        b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.calls.cmp(&a.calls)).then_with(|| a.model.cmp(&b.model))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(session: &str, model: &str, provider: Option<&str>, calls: u64, cost: f64) -> SessionModelUsage {
        SessionModelUsage {
            session_id: session.to_owned(),
            usage: ModelUsage {
                model: model.to_owned(),
                provider: provider.map(str::to_owned),
                calls,
                sessions: 1,
                input_tokens: 10 * calls as i64,
                output_tokens: calls as i64,
                cost_usd: cost,
            },
        }
    }

    #[test]
    fn sums_the_kept_sessions_only() {
        let rows = vec![
            row("a", "big", Some("z"), 2, 1.0),
            row("b", "big", Some("y"), 1, 0.5),
            row("b", "small", None, 4, 0.25),
            row("c", "small", None, 9, 9.0),
        ];
        let kept = usage_of(&rows, &HashSet::from(["a", "b"]));
        assert_eq!(kept.len(), 2);
        let big = &kept[0];
        assert_eq!((big.model.as_str(), big.calls, big.sessions, big.cost_usd), ("big", 3, 2, 1.5));
        assert_eq!((big.input_tokens, big.output_tokens, big.provider.as_deref()), (30, 3, Some("y")));
        assert_eq!((kept[1].model.as_str(), kept[1].calls, kept[1].cost_usd), ("small", 4, 0.25));
        assert!(usage_of(&rows, &HashSet::new()).is_empty());
        assert_eq!(usage_of(&rows, &HashSet::from(["c"]))[0].cost_usd, 9.0);
    }
}
