//! Where a scenario's breakpoints stop: each [`Condition`] evaluated against a session's
//! access log, ops, findings and notifications. (A trace's are evaluated by the trace document
//! against replayed trace state.)

use crate::cache::CacheModel;
use crate::command::{Condition, op_kind};
use crate::memory::AccessKind;
use crate::session::Session;

/// Every step at which `c` stops a continue on `s`, ascending. A stop lands right after the
/// access that made it true, at the start of the op, or where the finding was raised.
pub(crate) fn hits(s: &Session, c: &Condition) -> Vec<u64> {
    let fin = s.final_state();
    let mut out: Vec<u64> = match c {
        Condition::Value { field, cmp, value } => s
            .log()
            .iter()
            .filter(|a| {
                a.kind == AccessKind::Store
                    && a.field == *field
                    && cmp.holds(a.value, *value)
                    && !cmp.holds(a.old, *value)
            })
            .map(|a| a.step + 1)
            .collect(),
        Condition::Access { kind, field } => s
            .log()
            .iter()
            .filter(|a| a.field == *field && kind.is_none_or(|k| a.kind == k))
            .map(|a| a.step + 1)
            .collect(),
        Condition::Transfer(pat) => {
            let mut model = CacheModel::new(s.cache().line_size()).unwrap_or_default();
            s.log()
                .iter()
                .filter(|a| model.observe(a) > 0 && pat.matches(a.field))
                .map(|a| a.step + 1)
                .collect()
        }
        Condition::Finding(code) => fin
            .findings
            .0
            .iter()
            .filter(|f| code.as_deref().is_none_or(|c| f.code.name() == c))
            .filter_map(|f| f.step())
            .collect(),
        Condition::Op(name) => {
            let kind = op_kind(name);
            s.ops()
                .iter()
                .enumerate()
                .filter(|(_, op)| op.name() == name || Some(op.kind()) == kind)
                .map(|(i, _)| s.op_start(i))
                .collect()
        }
        // A notification to the device comes from the driver, and the other way round.
        Condition::Notify(to) => fin
            .notifications
            .iter()
            .filter(|n| to.is_none_or(|a| n.from != a))
            .map(|n| n.step + 1)
            .collect(),
        Condition::Event(_) | Condition::Counter { .. } | Condition::Buffer(_) => Vec::new(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Dir, next_hit};
    use crate::memory::Field;
    use crate::scenario::Scenario;

    fn tutorial() -> Session {
        Scenario::tutorial_start().unwrap().session().unwrap()
    }

    #[test]
    fn transfer_hits_land_after_an_access_that_moved_the_line() {
        let s = tutorial();
        for text in ["xfer avail.idx", "xfer used.idx", "xfer desc[*].addr"] {
            let c = Condition::parse(text).unwrap();
            let Condition::Transfer(pat) = &c else {
                panic!("{text}")
            };
            let found = hits(&s, &c);
            assert!(!found.is_empty(), "{text}");
            let mut at = s.clone();
            for h in found {
                let a = &s.log()[h as usize - 1];
                assert!(pat.matches(a.field), "{text}: {}", a.field);
                // The session's own (incremental) model counts a transfer at that access.
                at.seek(h - 1);
                let before = at.cache().totals().transfers();
                at.seek(h);
                assert!(at.cache().totals().transfers() > before, "{text} at {h}");
            }
        }
        // A field the tutorial never moves between caches: no hits.
        let c = Condition::parse("xfer driver_event.flags").unwrap();
        assert!(hits(&s, &c).is_empty());
    }

    #[test]
    fn value_hits_land_after_the_store_that_makes_them_true() {
        let s = tutorial();
        let found = hits(&s, &Condition::parse("used.idx == 1").unwrap());
        assert_eq!(found.len(), 1);
        let store = &s.log()[found[0] as usize - 1];
        assert_eq!(
            (store.field, store.value, store.old),
            (Field::UsedIdx, 1, 0)
        );
        assert_eq!(next_hit(&found, 0, Dir::Forward), Some(found[0]));
        assert_eq!(next_hit(&found, found[0], Dir::Forward), None);
        assert_eq!(next_hit(&found, s.len(), Dir::Back), Some(found[0]));
    }

    #[test]
    fn kicks_notify_the_device_and_interrupts_the_driver() {
        let s = tutorial();
        // The driver notifies the device by writing the queue notify register.
        for text in ["kick", "notify device"] {
            let k = hits(&s, &Condition::parse(text).unwrap());
            assert_eq!(k.len(), 1, "{text}");
            assert_eq!(
                s.log()[k[0] as usize - 1].field,
                Field::QueueNotify,
                "{text}"
            );
        }
        // The device notifies the driver with an interrupt, after it published used.idx.
        for text in ["interrupt", "notify driver"] {
            let i = hits(&s, &Condition::parse(text).unwrap());
            assert_eq!(i.len(), 1, "{text}");
            let used = s
                .log()
                .iter()
                .find(|a| a.field == Field::UsedIdx && a.kind == AccessKind::Store)
                .unwrap();
            assert!(
                i[0] > used.step + 1,
                "{text}: {i:?} after used.idx at {}",
                used.step
            );
            assert_ne!(
                s.log()[i[0] as usize - 1].field,
                Field::QueueNotify,
                "{text}"
            );
        }
    }
}
