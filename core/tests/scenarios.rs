//! Every shipped scenario runs and meets its expectations; the expectations are live (a wrong
//! number fails); every broken file in `scenarios/invalid/` is reported at its line and column
//! with a hint; and the model-vs-talk table in the docs is what the runs produce.

use std::path::{Path, PathBuf};

use ringside_core::scenario::{
    Against, Bound, EMBEDDED, Expectation, Metric, Relation, Run, Scenario,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(name: &str) -> Run {
    let s = Scenario::embedded(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    Run::new(name, &s).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ron_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_embedded_scenario_meets_its_expectations() {
    let mut failures = Vec::new();
    for (name, _) in EMBEDDED {
        let r = run(name).report;
        for c in r.expectations.iter().filter(|c| !c.pass) {
            failures.push(format!(
                "{name}: expected {}, observed {}",
                c.expected, c.observed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_scenario_file_is_embedded_and_checks_something() {
    for dir in ["scenarios/tutorial", "scenarios/talk", "scenarios/corner"] {
        for path in ron_files(dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            if ringside_core::tutorial::is_chapter(&text) {
                // Chapters are checked by core/tests/tutorial.rs.
                continue;
            }
            let found = EMBEDDED.iter().find(|(_, t)| *t == text);
            let (name, _) = found.unwrap_or_else(|| panic!("{} is not embedded", path.display()));
            let s = Scenario::embedded(name).unwrap();
            assert!(!s.expect.is_empty(), "{name} has no expectations");
            assert!(!s.description.is_empty(), "{name} has no description");
        }
    }
}

#[test]
fn the_talks_claims_and_the_corner_case_matrix_each_have_a_scenario() {
    let required = [
        // BRIEF.md claims
        "split-unbatched",
        "split-batched",
        "packed-unbatched",
        "packed-batched",
        "in-order",
        "packed-out-of-order",
        "packed-wrap",
        "event-idx",
        "notification-data",
        "negotiation-old-driver",
        "negotiation-new-driver",
        "negotiation-legacy",
        "negotiation-features-ok-refused",
        "pow2-cache",
        "split-vs-packed",
        // reference §2 corner-case matrix
        "packed-fullring-chain",
        "packed-id-last-only",
        "packed-used-len-strict",
        "packed-q5",
        "packed-eventidx-lap",
        "split-eventidx-batch",
        "split-bad-avail-idx",
        "chain-order-violation",
        "split-loop",
        "indirect-misuse",
        "packed-multibuffer",
        "packed-multibuffer-partial",
        "missed-kick-no-recheck",
    ];
    for name in required {
        assert!(
            EMBEDDED.iter().any(|(n, _)| *n == name),
            "no scenario `{name}`"
        );
    }
}

/// A bound that excludes `v`.
fn excluding(v: f64) -> Bound {
    Bound::Between(v + 1.0, v + 2.0)
}

#[test]
fn expectations_fail_when_the_number_is_wrong() {
    // Every Metric and Relative expectation of every scenario, turned against the value the run
    // produced, must fail: the checks read the run, they do not restate a constant.
    let mut checked = 0;
    for (name, _) in EMBEDDED {
        let s = Scenario::embedded(name).unwrap();
        let base = run(name);
        for (i, e) in s.expect.iter().enumerate() {
            let wrong = match e {
                Expectation::Metric(m, _) => {
                    let Some(v) = base.metric(*m) else { continue };
                    Expectation::Metric(*m, excluding(v))
                }
                Expectation::FieldMisses(f, _) => Expectation::FieldMisses(
                    f.clone(),
                    excluding(base.report.cache.per_field.get(f).copied().unwrap_or(0.0)),
                ),
                Expectation::Relative {
                    metric,
                    against,
                    is,
                } => Expectation::Relative {
                    metric: *metric,
                    against: against.clone(),
                    is: match is {
                        Relation::Less => Relation::Greater,
                        Relation::Greater => Relation::Less,
                        Relation::Equal => Relation::Less,
                        Relation::Ratio(_) => Relation::Ratio(Bound::AtLeast(1e9)),
                    },
                },
                _ => continue,
            };
            let mut broken = s.clone();
            broken.expect = vec![wrong];
            let r = Run::new(name, &broken).unwrap().report;
            assert!(!r.passed, "{name}: expectation {i} cannot fail: {e:?}");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} expectations checked");
}

#[test]
fn relative_expectations_rerun_the_same_steps_on_the_other_side_of_the_switch() {
    let s = Scenario::embedded("split-vs-packed").unwrap();
    let mut probe = s.clone();
    probe.expect = vec![Expectation::Relative {
        metric: Metric::Buffers,
        against: Against::Layout(ringside_core::layout::RingKind::Packed),
        is: Relation::Equal,
    }];
    let r = Run::new("probe", &probe).unwrap().report;
    assert!(r.passed, "{:?}", r.expectations);
    assert!(r.expectations[0].expected.contains("packed ring"));
}

/// The `// error: L:C: message` and `// hint: ...` header of an invalid file.
fn header(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("// {key}: ")))
        .unwrap_or_else(|| panic!("no `// {key}:` line"))
        .to_string()
}

#[test]
fn every_invalid_file_is_reported_at_its_place_with_a_hint() {
    let files = ron_files("scenarios/invalid");
    assert!(files.len() >= 15, "{} invalid files", files.len());
    // Broken tutorial chapters, one per check the chapter loader makes.
    let chapters = ron_files("scenarios/invalid/tutorial");
    assert!(
        chapters.len() >= 10,
        "{} invalid chapter files",
        chapters.len()
    );
    for path in files.into_iter().chain(chapters) {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.display().to_string();
        let err = if ringside_core::tutorial::is_chapter(&text) {
            ringside_core::tutorial::Chapter::parse(&shown, &text).err()
        } else {
            Scenario::parse(&shown, &text).err()
        }
        .unwrap_or_else(|| panic!("{shown} loads"));
        let msg = err.to_string();
        let want = format!("{shown}:{}", header(&text, "error"));
        assert!(msg.starts_with(&want), "{shown}:\n got {msg}\nwant {want}");
        let hint = header(&text, "hint");
        assert!(!hint.is_empty(), "{shown}: empty hint header");
        assert!(msg.contains(&format!("hint: {hint}")), "{shown}: {msg}");
    }
}

/// Model numbers next to the talk's claims, each from a run.
fn model_vs_talk() -> String {
    let m = |name: &str, metric: Metric| -> String {
        run(name)
            .metric(metric)
            .map(ringside_core::scenario::expect::num)
            .unwrap_or_else(|| "n/a".into())
    };
    let ratio = |a: &str, b: &str, metric: Metric| -> String {
        match (run(a).metric(metric), run(b).metric(metric)) {
            (Some(x), Some(y)) if y != 0.0 => ringside_core::scenario::expect::num(x / y),
            _ => "n/a".into(),
        }
    };
    // The same scenario with IN_ORDER taken from both sides: the like-for-like baseline.
    let without_in_order = |name: &str, metric: Metric| -> String {
        let mut s = Scenario::embedded(name).unwrap();
        let f = ringside_core::features::Features::IN_ORDER;
        s.engine.device_features = s.engine.device_features.minus(f);
        s.engine.driver_features = s.engine.driver_features.minus(f);
        Run::new(name, &s)
            .unwrap()
            .metric(metric)
            .map(ringside_core::scenario::expect::num)
            .unwrap_or_else(|| "n/a".into())
    };
    let shared = |name: &str| -> String {
        run(name)
            .report
            .cache
            .other_topology_cycles_per_buffer
            .map(ringside_core::scenario::expect::num)
            .unwrap_or_else(|| "n/a".into())
    };
    let rows: Vec<[String; 4]> = vec![
        [
            "Split ring, misses per buffer, unbatched".into(),
            "about 5".into(),
            "`split-unbatched`".into(),
            m("split-unbatched", Metric::MissesPerBuffer),
        ],
        [
            "Split ring, misses per buffer, batches of 4".into(),
            "about 1.25 (5 per 4)".into(),
            "`split-batched`".into(),
            m("split-batched", Metric::MissesPerBuffer),
        ],
        [
            "Packed ring, misses per buffer, unbatched".into(),
            "2 to 4".into(),
            "`packed-unbatched`".into(),
            m("packed-unbatched", Metric::MissesPerBuffer),
        ],
        [
            "Packed ring, misses per buffer, batches of 4".into(),
            "0.5 to 1".into(),
            "`packed-batched`".into(),
            m("packed-batched", Metric::MissesPerBuffer),
        ],
        [
            "Split ring, invalidations per buffer, unbatched".into(),
            "not counted (not misses)".into(),
            "`split-unbatched`".into(),
            m("split-unbatched", Metric::InvalidationsPerBuffer),
        ],
        [
            "Packed ring, invalidations per buffer, unbatched".into(),
            "not counted (not misses)".into(),
            "`packed-unbatched`".into(),
            m("packed-unbatched", Metric::InvalidationsPerBuffer),
        ],
        [
            "Packed / split misses per buffer, unbatched".into(),
            "cache overhead about halved".into(),
            "`packed-unbatched`, `split-unbatched`".into(),
            ratio(
                "packed-unbatched",
                "split-unbatched",
                Metric::MissesPerBuffer,
            ),
        ],
        [
            "Split / packed memory cycles per buffer, separate caches".into(),
            "cache overhead about halved (measured)".into(),
            "`split-unbatched`, `packed-unbatched`".into(),
            format!(
                "{} / {}",
                m("split-unbatched", Metric::CyclesPerBuffer),
                m("packed-unbatched", Metric::CyclesPerBuffer)
            ),
        ],
        [
            "Split / packed memory cycles per buffer, shared cache".into(),
            "similar".into(),
            "`split-unbatched`, `packed-unbatched`".into(),
            format!(
                "{} / {}",
                shared("split-unbatched"),
                shared("packed-unbatched")
            ),
        ],
        [
            "IN_ORDER: device stores per buffer, batches of 8 (without / with)".into(),
            "device skips used writes".into(),
            "`in-order`".into(),
            format!(
                "{} / {}",
                without_in_order("in-order", Metric::DeviceStoresPerBuffer),
                m("in-order", Metric::DeviceStoresPerBuffer)
            ),
        ],
        [
            "IN_ORDER: misses per buffer, batches of 8 (without / with)".into(),
            "fewer cache messages".into(),
            "`in-order`".into(),
            format!(
                "{} / {}",
                without_in_order("in-order", Metric::MissesPerBuffer),
                m("in-order", Metric::MissesPerBuffer)
            ),
        ],
        [
            "EVENT_IDX: notifications per buffer (with)".into(),
            "fewer notifications".into(),
            "`event-idx`".into(),
            m("event-idx", Metric::NotificationsPerBuffer),
        ],
        [
            "1024-entry descriptor ring in a 32 KiB 8-way L1: ways".into(),
            "4 of 8".into(),
            "`pow2-cache`".into(),
            m("pow2-cache", Metric::DescWays),
        ],
        [
            "TX + RX 1024-entry rings: L1 lines left".into(),
            "none (the cache is full)".into(),
            "`pow2-cache`".into(),
            m("pow2-cache", Metric::FreeLines),
        ],
        [
            "TX + RX 768-entry rings: ways each, L1 lines left".into(),
            "room left".into(),
            "`pow2-cache-768`".into(),
            format!(
                "{} ways, {} lines",
                m("pow2-cache-768", Metric::DescWays),
                m("pow2-cache-768", Metric::FreeLines)
            ),
        ],
    ];
    let mut t = String::from("| Claim | Talk | Scenario | Model |\n|---|---|---|---|\n");
    for [a, b, c, d] in rows {
        t.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    t
}

const BEGIN: &str = "<!-- model-vs-talk:begin (generated by core/tests/scenarios.rs) -->\n";
const END: &str = "<!-- model-vs-talk:end -->";

#[test]
fn the_model_vs_talk_table_in_the_docs_matches_the_runs() {
    let path = repo().join("docs/model-vs-talk.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let table = model_vs_talk();
    if std::env::var_os("RINGSIDE_BLESS").is_some() {
        let new = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        doc[start..end],
        table,
        "docs/model-vs-talk.md is stale: rerun with RINGSIDE_BLESS=1"
    );
}

#[test]
fn the_used_ring_header_has_a_cache_line_of_its_own() {
    // Issue 17 item 11: packed 4 bytes after the avail ring, the used ring's header shared a
    // line with the avail ring's tail (avail.ring[254..255], used_event), a line both sides
    // write. Linux's modern driver aligns the used ring to 64 bytes (the captures show it), and
    // so does the engine by default: the line holding used.idx holds nothing of the avail ring.
    use ringside_core::cache::CacheModel;
    use ringside_core::engine::Ring;
    for name in ["split-unbatched", "split-batched", "event-idx"] {
        let s = Scenario::embedded(name).unwrap();
        let sess = s.session().unwrap();
        let Some(Ring::Split { layout, .. }) = sess.final_state().ring.as_ref() else {
            panic!("{name}: not a split ring");
        };
        assert_eq!(
            layout.used % 64,
            0,
            "{name}: used ring at {:#x}",
            layout.used
        );
        let mut m = CacheModel::default();
        m.observe_all(sess.log());
        let line = m.line(layout.used_idx()).unwrap();
        let names: Vec<&str> = line.fields.iter().map(|f| f.name.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("used.") || *n == "avail_event"),
            "{name}: the used.idx line also holds {names:?}"
        );
        assert!(line.summary.transfers > 0, "{name}");
    }
}

#[test]
fn in_order_at_batches_of_four_saves_stores_but_not_misses() {
    // docs/model-vs-talk.md: with batches of 4 the four used descriptors share one line, so
    // writing one instead of four saves device stores but no line transfer. Like with like:
    // packed-batched's own steps, with and without IN_ORDER.
    let with = |in_order: bool| {
        let mut s = Scenario::embedded("packed-batched").unwrap();
        let f = ringside_core::features::Features::IN_ORDER;
        if in_order {
            s.engine.device_features = s.engine.device_features.or(f);
            s.engine.driver_features = s.engine.driver_features.or(f);
        }
        Run::new("packed-batched", &s).unwrap()
    };
    let (a, b) = (with(false), with(true));
    let stores = |r: &Run| r.metric(Metric::DeviceStoresPerBuffer).unwrap();
    let misses = |r: &Run| r.metric(Metric::MissesPerBuffer).unwrap();
    assert_eq!((stores(&a), stores(&b)), (3.0, 0.75));
    assert_eq!(misses(&a), misses(&b));
    assert_eq!(a.report.buffers, b.report.buffers);
}
