//! Frame-level tests: what the UIs will paint at known steps of the tutorial.

use ringside_core::command::{Command, Condition, Dir, Key, KeyPress, PaneId, PromptKind};
use ringside_core::face::controller::scenario::SavedSession;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::controller::{Controller, Request};
use ringside_core::memory::Field;
use ringside_core::view::{Change, FrameOptions, Owner, RingPane, SplitPane};

fn split(ui: &mut ScenarioUi) -> SplitPane {
    match ui.frame(FrameOptions::default()).main.ring {
        RingPane::Split(s) => s,
        other => panic!("expected a split ring, got {other:?}"),
    }
}

/// The step right after the first store of `field`.
fn after_store(ui: &ScenarioUi, field: Field) -> u64 {
    let a = ui
        .session()
        .log()
        .iter()
        .find(|a| a.field == field)
        .unwrap();
    a.step + 1
}

#[test]
fn descriptors_change_hands_at_publish_and_at_used_idx() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    let publish = after_store(&ui, Field::AvailIdx);
    ui.apply(Command::Goto(publish - 1));
    let s = split(&mut ui);
    // Filled but not published: still the driver's, and avail.ring[0] is the driver's too.
    assert_eq!(s.descs[0].owner, Owner::Driver);
    assert_eq!(s.descs[1].owner, Owner::Driver);
    assert_eq!(s.descs[2].owner, Owner::Free);
    assert_eq!(s.avail.rows[0].owner, Owner::Driver);
    ui.apply(Command::Step(Dir::Forward));
    let s = split(&mut ui);
    assert_eq!(s.descs[0].owner, Owner::Device);
    assert_eq!(s.descs[1].owner, Owner::Device);
    assert_eq!(s.avail.rows[0].owner, Owner::Device);
    assert_eq!(s.avail.idx.text, "1");
    assert_eq!(s.avail.idx.change, Change::Strong);
    assert_eq!(s.descs[0].flags.text, "0x0001 N··");
    assert_eq!(s.descs[1].flags.text, "0x0002 ·W·");
    assert_eq!(s.descs[1].len.text, "512");

    // used.idx published: the chain comes back to the driver, used.ring[0] is its to read.
    let used = after_store(&ui, Field::UsedIdx);
    ui.apply(Command::Goto(used));
    let s = split(&mut ui);
    assert_eq!(s.descs[0].owner, Owner::Driver);
    assert_eq!(s.used.rows[0].owner, Owner::Driver);
    assert_eq!(s.used.rows[0].entry.text, "  0   200");
    // At the end everything is free again.
    ui.apply(Command::Last);
    let s = split(&mut ui);
    assert!(
        s.descs.iter().all(|d| d.owner == Owner::Free),
        "{:?}",
        s.descs
    );
}

#[test]
fn event_windows_work_the_numbers() {
    // The tutorial does not negotiate EVENT_IDX: the flags decide, and say so.
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Last);
    let s = split(&mut ui);
    assert!(!s.kick.event_idx);
    assert_eq!(s.kick.text, "used.flags NO_NOTIFY 0 → kick");
    // With EVENT_IDX on both sides, the window [old, new) appears.
    let mut sc = ringside_core::scenario::Scenario::tutorial_start().unwrap();
    sc.engine.driver_features = sc.engine.device_features;
    let mut ui = ScenarioUi::with_scenario("t", sc).unwrap();
    // Before the device's first decision (the Interrupt op, 8th): no `old` yet, so it fires.
    let irq = ui.session().op_start(7);
    ui.apply(Command::Goto(irq));
    let s = split(&mut ui);
    assert!(s.interrupt.event_idx);
    assert_eq!(
        (s.interrupt.event, s.interrupt.old, s.interrupt.new),
        (0, None, 1)
    );
    assert!(s.interrupt.fires);
    ui.apply(Command::Last);
    let s = split(&mut ui);
    assert_eq!(s.interrupt.old, Some(1));
    assert!(s.interrupt.text.contains("[1, 1)"), "{}", s.interrupt.text);
    assert!(!s.interrupt.fires);
}

#[test]
fn marks_make_weak_changes_and_steps_strong_ones() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    let publish = after_store(&ui, Field::AvailIdx);
    ui.apply(Command::Goto(publish - 5));
    ui.apply(Command::Mark);
    ui.apply(Command::Goto(publish + 1));
    ui.apply(Command::Step(Dir::Forward));
    let s = split(&mut ui);
    assert_eq!(s.avail.idx.change, Change::Weak);
    ui.apply(Command::Goto(publish - 1));
    ui.apply(Command::Step(Dir::Forward));
    assert_eq!(split(&mut ui).avail.idx.change, Change::Strong);
}

#[test]
fn breakpoints_continue_and_reverse_continue() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Break(Condition::parse("used.idx == 1").unwrap()));
    ui.apply(Command::Continue(Dir::Forward));
    let used = after_store(&ui, Field::UsedIdx);
    assert_eq!(ui.session().position().step, used);
    ui.apply(Command::Break(Condition::parse("op kick").unwrap()));
    ui.apply(Command::Continue(Dir::Back));
    let kick = ui.session().op_start(3);
    assert_eq!(ui.session().position().step, kick);
    let f = ui.frame(FrameOptions::default());
    assert_eq!(f.ui.breakpoints, ["used.idx == 1", "op kick"]);
    assert!(f.ui.message.unwrap().text.contains("breakpoint 2"));
}

#[test]
fn prompts_refuse_bad_input_with_a_column_and_keep_the_text() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Prompt(PromptKind::Break));
    for c in "used.idz == 1".chars() {
        ui.key(KeyPress::ch(c));
    }
    ui.key(KeyPress::plain(Key::Enter));
    let f = ui.frame(FrameOptions::default());
    let p = f.ui.prompt.expect("prompt stays open");
    assert_eq!(p.text, "used.idz == 1");
    assert!(p.error.unwrap().starts_with("column 1: unknown field"));
    ui.key(KeyPress::plain(Key::Esc));
    assert!(ui.frame(FrameOptions::default()).ui.prompt.is_none());
}

#[test]
fn narration_names_the_next_access() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    let publish = after_store(&ui, Field::AvailIdx);
    ui.apply(Command::Goto(publish - 1));
    let f = ui.frame(FrameOptions::default());
    let n = f.main.narration;
    assert_eq!(
        n.next.as_deref(),
        Some("avail.idx ← 0x0001 (driver, release; was 0x0)")
    );
    assert!(n.say.unwrap().starts_with("One store-release of avail.idx"));
    assert!(n.op.starts_with("op 3/9: driver publish"));
}

#[test]
fn compare_steps_the_packed_twin_to_the_same_op() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Compare(None));
    ui.apply(Command::Op(Dir::Forward));
    ui.apply(Command::Op(Dir::Forward));
    let f = ui.frame(FrameOptions::default());
    let (label, other) = f.compare.expect("compare on");
    assert_eq!(label, "packed ring, same ops");
    assert_eq!(other.header.op, f.main.header.op);
    assert!(matches!(other.ring, RingPane::Packed(_)));
    ui.apply(Command::Compare(None));
    assert!(ui.frame(FrameOptions::default()).compare.is_none());
}

#[test]
fn the_session_round_trips_through_ron() {
    let path = "s.ron".to_string();
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Goto(17));
    ui.apply(Command::Mark);
    ui.apply(Command::Break(Condition::parse("notify device").unwrap()));
    ui.apply(Command::FocusPane(PaneId::Memory));
    let Some(Request::Save { path: to, bytes }) = ui.apply(Command::Save(path.clone())) else {
        panic!("a save asks the face to write the file")
    };
    assert_eq!(to, path);
    let saved = ui.saved();
    let text = String::from_utf8(bytes).unwrap();
    let back = SavedSession::parse(&path, &text).unwrap();
    assert_eq!(back, saved);
    let scenario = ringside_core::scenario::Scenario::embedded(&back.scenario).unwrap();
    let back = ScenarioUi::restore(&back, scenario).unwrap();
    assert_eq!(back.saved(), saved);
    assert_eq!(back.session().position().step, 17);
}

#[test]
fn cache_lines_carry_the_model_s_owner() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Last);
    let f = ui.frame(FrameOptions::default());
    let c = f.main.cache;
    assert!(c.lines.iter().any(|l| l.transfers > 0));
    assert!(c.lines.iter().any(|l| l.owner == Owner::Shared));
    assert!(
        !c.fields.is_empty(),
        "the first line is selected and has fields"
    );
    assert!(c.summary.contains("per buffer"), "{}", c.summary);
}

#[test]
fn play_moves_by_the_time_that_passed_at_the_chosen_speed() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    for _ in 0..5 {
        ui.apply(Command::Faster);
    }
    assert_eq!(ui.frame(FrameOptions::default()).ui.speed, 500);
    ui.apply(Command::Play);
    // 1.5 ms at 500 steps/s is three quarters of a step: the fraction carries over.
    for _ in 0..4 {
        ui.tick(1_500);
    }
    assert_eq!(ui.session().position().step, 3);
    // A slow paint does not slow the play: 40 ms later, 20 more steps.
    ui.tick(40_000);
    assert_eq!(ui.session().position().step, 23);
}

#[test]
fn a_continue_with_no_hit_leaves_the_cursor_and_says_so() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Break(Condition::parse("used.idx == 1").unwrap()));
    ui.apply(Command::Last);
    let end = ui.session().position().step;
    ui.apply(Command::Continue(Dir::Forward));
    assert_eq!(ui.session().position().step, end);
    let m = ui.frame(FrameOptions::default()).ui.message.unwrap();
    assert!(m.error && m.text.contains("cursor stays"), "{}", m.text);
}

#[test]
fn clicks_on_findings_and_ops_go_to_their_step() {
    use ringside_core::command::Item;
    use ringside_core::face::screen::Size;
    let mut ui = ScenarioUi::tutorial().unwrap();
    let s = ui.screen(Size::new(200, 60));
    // The timeline's column for op 3 (the kick): a click goes to where that op starts.
    let kick = ui.session().op_start(3);
    let t = s
        .targets
        .iter()
        .find(|t| {
            t.command
                == Command::Select {
                    pane: PaneId::Timeline,
                    item: Item::Step(kick),
                }
        })
        .expect("a target for the kick");
    let cmd = s.command_at(t.area.x, t.area.y).unwrap();
    ui.apply(cmd);
    assert_eq!(ui.session().position().step, kick);
    assert_eq!(ui.frame(FrameOptions::default()).ui.focus, PaneId::Timeline);
}

#[test]
fn the_compared_layout_does_not_borrow_the_scenario_s_split_words() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Compare(None));
    // The fill: "records the head id and that length in used.ring[0]".
    for _ in 0..5 {
        ui.apply(Command::Op(Dir::Forward));
    }
    let f = ui.frame(FrameOptions::default());
    let main = f.main.narration.say.unwrap();
    let (_, packed) = f.compare.unwrap();
    let say = packed.narration.say.unwrap();
    assert!(main.contains("used.ring[0]"), "{main}");
    assert!(!say.contains("used.ring"), "the packed side says: {say}");
    assert!(say.contains("written for the split ring"), "{say}");
    // The engine's own summary of the op is the packed ring's.
    assert!(!packed.narration.outcome.is_empty());
}

#[test]
fn pow2_cache_shows_both_rings_and_the_numbers_run_prints() {
    use ringside_core::scenario::{Run, Scenario};
    let s = Scenario::embedded("pow2-cache").unwrap();
    let run = Run::new("pow2-cache", &s).unwrap();
    let l1 = run.report.cache.l1.unwrap();
    let mut ui = ScenarioUi::with_scenario("pow2-cache", s).unwrap();
    ui.apply(Command::Last);
    let pic = ui.frame(FrameOptions::default()).main.cache.l1.unwrap();
    assert_eq!(pic.summary, l1.to_string());
    assert!(pic.summary.contains("all rings need 10"), "{}", pic.summary);
    // Set by set: the TX ring alone fits (at most 5 ways), with the RX ring a set overflows.
    assert_eq!(pic.sets.len(), 64);
    assert!(pic.sets.iter().all(|&(own, _)| own <= 5));
    let over = pic
        .sets
        .iter()
        .filter(|&&(own, other)| own + other > 8)
        .count();
    assert_eq!(over as u64, l1.overflowing_sets);
    assert!(
        pic.sets.iter().all(|&(_, other)| other >= 4),
        "the RX ring is in every set"
    );
}

#[test]
fn packed_ids_say_where_each_buffer_is_once_used_out_of_order() {
    use ringside_core::view::IdPlace;
    let mut ui = ScenarioUi::with_scenario(
        "packed-out-of-order",
        ringside_core::scenario::Scenario::embedded("packed-out-of-order").unwrap(),
    )
    .unwrap();
    // Step op by op until the device has published a used descriptor for ID 8 only.
    let mut found = false;
    for _ in 0..ui.session().ops().len() {
        ui.apply(Command::Op(Dir::Forward));
        let f = ui.frame(FrameOptions::default());
        let RingPane::Packed(p) = &f.main.ring else {
            continue;
        };
        let place = |id: u16| p.ids.iter().find(|r| r.id == id).map(|r| r.place);
        if place(8) == Some(IdPlace::Used) {
            // Buffer 8 is back while 0-7 are still with the device, and slot 0 (where its used
            // descriptor went) holds ID 8, while slot 8 still holds the available one.
            for id in 0..8 {
                assert_eq!(place(id), Some(IdPlace::Device), "id {id}");
            }
            assert_eq!(p.descs[0].link.text, "8");
            assert_eq!(p.descs[8].owner, ringside_core::view::Owner::Device);
            found = true;
            break;
        }
    }
    assert!(found, "ID 8 never showed as used");
}

#[test]
fn in_order_ownership_follows_used_idx_not_the_entries_written() {
    // Split IN_ORDER: a batch of 4 comes back through one used entry (at slot 0, naming the
    // last head). Once used.idx says 4, all four chains are the driver's again (§2.7.9),
    // though used.ring[1..3] were never written.
    let sc = ringside_core::scenario::Scenario::parse(
        "in-order.ron",
        r#"(title: "t", engine: (queue: (layout: Split, size: 8),
            device_features: ["VERSION_1", "IN_ORDER"], driver_features: ["VERSION_1", "IN_ORDER"]),
            steps: [(op: Negotiate),
                (op: Add(buffer: (readable: [16], writable: [64]), count: 4)),
                (op: Publish), (op: Pop(max: None)), (op: Complete(count: 4)),
                (op: PublishUsed), (op: Reclaim(max: None))])"#,
    )
    .unwrap();
    let mut ui = ScenarioUi::with_scenario("t", sc).unwrap();
    let used = after_store(&ui, Field::UsedIdx);
    ui.apply(Command::Goto(used - 1));
    let s = split(&mut ui);
    assert!(
        s.descs.iter().all(|d| d.owner == Owner::Device),
        "before used.idx: {:?}",
        s.descs.iter().map(|d| d.owner).collect::<Vec<_>>()
    );
    assert_eq!(s.used.rows[0].entry.text, "  6    64");
    ui.apply(Command::Step(Dir::Forward));
    let s = split(&mut ui);
    let owners: Vec<Owner> = s.descs.iter().map(|d| d.owner).collect();
    assert_eq!(owners, vec![Owner::Driver; 8], "after used.idx = 4");
    for slot in 0..4 {
        assert_eq!(s.used.rows[slot].owner, Owner::Driver, "used.ring[{slot}]");
    }
}

#[test]
fn the_cache_pane_shows_transfers_and_invalidations_apart() {
    // split-unbatched at its end: about 5 transfers per buffer (the talk's misses) and about 5
    // invalidations (stores to lines the other side held clean), two counts, not one sum.
    let sc = ringside_core::scenario::Scenario::embedded("split-unbatched").unwrap();
    let mut ui = ScenarioUi::with_scenario("split-unbatched", sc).unwrap();
    ui.apply(Command::Last);
    let s = ui.frame(FrameOptions::default()).main.cache.summary;
    let number_before = |word: &str| -> u64 {
        let at = s.find(word).unwrap_or_else(|| panic!("no `{word}` in {s}"));
        s[..at].split_whitespace().last().unwrap().parse().unwrap()
    };
    let (transfers, invalidations) = (number_before(" transfers"), number_before(" invalidations"));
    let t = *ui.session().cache().totals();
    assert_eq!(
        (transfers, invalidations),
        (t.transfers(), t.invalidations()),
        "{s}"
    );
    // Both near 5 per buffer over the 512 buffers, and not the same count.
    assert!((4.5..5.5).contains(&(transfers as f64 / 512.0)), "{s}");
    assert!((4.5..5.5).contains(&(invalidations as f64 / 512.0)), "{s}");
    assert_ne!(transfers, invalidations);
    assert!(s.contains("over 512"), "{s}");
}

#[test]
fn the_pictures_carry_owners_positions_chains_and_notifications() {
    use ringside_core::face::screen::Size;
    use ringside_core::memory::Agent;
    let mut ui = ScenarioUi::tutorial().unwrap();
    // Right after the kick (op 4): the chain 0 -> 1 is the device's, the driver's next avail
    // entry is slot 1, and the kick is the newest notification.
    for _ in 0..4 {
        ui.apply(Command::Op(Dir::Forward));
    }
    // A face without a picture panel (the terminal) gets the same text and no pictures.
    let text_only = ui.screen(Size::new(120, 40));
    assert!(text_only.pictures.rings.is_empty() && text_only.pictures.cache.is_none());
    let s = ui.screen(Size::new(120, 40).with_pictures());
    assert_eq!(s.panes, text_only.panes);
    let ring = &s.pictures.rings[0];
    assert!(!ring.packed);
    let names: Vec<&str> = ring.strips.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["descriptor table", "available ring", "used ring"]);
    let desc = &ring.strips[0];
    assert_eq!(desc.links, vec![(0, 1)]);
    assert_eq!(desc.slots[0].owner, Owner::Device);
    assert_eq!(desc.slots[1].owner, Owner::Device);
    assert!(
        desc.slots[0]
            .tooltip
            .iter()
            .any(|t| t.starts_with("flags 0x0001")),
        "{:?}",
        desc.slots[0].tooltip
    );
    let avail = &ring.strips[1];
    let drv = avail
        .marks
        .iter()
        .find(|m| m.agent == Agent::Driver)
        .unwrap();
    assert_eq!((drv.slot, drv.label.as_str()), (1, "driver avail_idx"));
    let kick = ring.notifications.last().unwrap();
    assert_eq!(kick.from, Agent::Driver);
    assert!(kick.label.starts_with("kick"), "{}", kick.label);
    // A click on a slot in the picture selects it, as the text pane's row does.
    ui.apply(desc.slots[3].command.clone().unwrap());
    assert!(ui.frame(FrameOptions::default()).main.ring.descs()[3].selected);
    // The cache picture has every line of the cache pane.
    let cache = s.pictures.cache.unwrap();
    assert_eq!(
        cache.lines.len(),
        ui.frame(FrameOptions::default()).main.cache.lines.len()
    );
}

#[test]
fn packed_pictures_mark_positions_with_their_wrap_counters() {
    use ringside_core::face::screen::Size;
    let mut ui = ScenarioUi::with_scenario(
        "packed-wrap",
        ringside_core::scenario::Scenario::embedded("packed-wrap").unwrap(),
    )
    .unwrap();
    ui.apply(Command::Last);
    let ringside_core::engine::Ring::Packed { driver, .. } =
        ui.session().state().ring.clone().unwrap()
    else {
        panic!("packed")
    };
    let s = ui.screen(Size::new(120, 40).with_pictures());
    let ring = &s.pictures.rings[0];
    assert!(ring.packed);
    let m = ring.strips[0]
        .marks
        .iter()
        .find(|m| m.label.starts_with("driver next avail"))
        .unwrap();
    assert_eq!(m.slot, driver.next_avail.slot);
    assert!(
        m.label
            .ends_with(&format!("(wrap {})", driver.next_avail.wrap.bit())),
        "{}",
        m.label
    );
}

#[test]
fn a_big_ring_is_drawn_as_a_window_around_its_positions() {
    use ringside_core::face::screen::Size;
    use ringside_core::face::screen::picture::WINDOW;
    let text = r#"Scenario(
        title: "a 4096-entry split ring",
        engine: (queue: (layout: Split, size: 4096),
            device_features: ["VERSION_1"], driver_features: ["VERSION_1"]),
        steps: [(op: Negotiate), (op: Repeat(times: 3, ops: [
            Add(buffer: (readable: [], writable: [64]), count: 1000), Publish, Pop(max: None),
            Complete(count: 1000), PublishUsed, Reclaim(max: None)]))],
    )"#;
    let scenario = ringside_core::scenario::Scenario::parse("big.ron", text).unwrap();
    let mut ui = ScenarioUi::with_scenario("big.ron", scenario).unwrap();
    ui.apply(Command::Last);
    let s = ui.screen(Size::new(160, 50).with_pictures());
    let ring = &s.pictures.rings[0];
    for strip in &ring.strips {
        assert_eq!(strip.len, 4096, "{}", strip.name);
        assert_eq!(strip.slots.len(), WINDOW, "{}", strip.name);
        // Consecutive slots, and every position the strip marks lies in the window.
        let first = strip.slots[0].slot;
        assert!(
            strip
                .slots
                .iter()
                .enumerate()
                .all(|(i, x)| usize::from(x.slot) == usize::from(first) + i)
        );
        for m in &strip.marks {
            assert!(
                strip.slots.iter().any(|x| x.slot == m.slot),
                "{} {}",
                strip.name,
                m.label
            );
        }
    }
    // After 3000 buffers the positions are near slot 3000, not at the start.
    assert!(
        ring.strips[1].slots[0].slot > 2000,
        "{}",
        ring.strips[1].slots[0].slot
    );
}

#[test]
fn a_ring_past_all_rows_builds_a_window_and_its_hints_count_the_whole_ring() {
    use ringside_core::command::Item;
    use ringside_core::face::screen::Size;
    use ringside_core::view::{ALL_ROWS, ROW_WINDOW};
    let size = 8192u16;
    assert!(size > ALL_ROWS);
    let text = format!(
        r#"Scenario(
        title: "an {size}-entry split ring",
        engine: (queue: (layout: Split, size: {size}),
            device_features: ["VERSION_1"], driver_features: ["VERSION_1"]),
        steps: [(op: Negotiate), (op: Repeat(times: 5, ops: [
            Add(buffer: (readable: [], writable: [64]), count: 1000), Publish, Pop(max: None),
            Complete(count: 1000), PublishUsed, Reclaim(max: None)]))],
    )"#
    );
    let scenario = ringside_core::scenario::Scenario::parse("big.ron", &text).unwrap();
    let mut ui = ScenarioUi::with_scenario("big.ron", scenario).unwrap();
    ui.apply(Command::Last);
    let s = split(&mut ui);
    assert_eq!(s.size, size);
    // 5000 buffers went round: both sides stand at avail/used slot 5000, and the rows of
    // each ring are a window of consecutive slots around there.
    for (name, slots) in [
        ("descs", s.descs.iter().map(|r| r.slot).collect::<Vec<_>>()),
        ("avail", s.avail.rows.iter().map(|r| r.slot).collect()),
        ("used", s.used.rows.iter().map(|r| r.slot).collect()),
    ] {
        assert_eq!(slots.len(), usize::from(ROW_WINDOW), "{name}");
        assert!(slots.windows(2).all(|w| w[1] == w[0] + 1), "{name}");
        assert!(
            slots[0] > 0 && *slots.last().unwrap() < size - 1,
            "{name}: {slots:?}"
        );
    }
    assert!(
        s.avail
            .rows
            .iter()
            .any(|r| r.slot == 5000 && !r.notes.is_empty())
    );
    // The text pane's table head counts the slots above and below over the whole ring: the
    // first row shown is slot ↑N, and ↑N + shown + ↓M is the queue size.
    let screen = ui.screen(Size::new(160, 50));
    let ring = screen.panes.iter().find(|p| p.id == PaneId::Ring).unwrap();
    let lines: Vec<String> = ring.lines.iter().map(|l| l.text()).collect();
    let head = lines.iter().find(|l| l.contains("addr")).unwrap();
    let count = |arrow: char| -> usize {
        let at = head
            .find(arrow)
            .unwrap_or_else(|| panic!("{arrow} in {head}"))
            + arrow.len_utf8();
        head[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (above, below) = (count('↑'), count('↓'));
    let rows: Vec<usize> = lines
        .iter()
        .skip_while(|l| !l.contains("addr"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(rows[0], above, "{head}\n{lines:#?}");
    assert!(rows.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(above + rows.len() + below, usize::from(size), "{head}");
    // Selecting a far slot builds the rows around it, and the pane shows it.
    ui.apply(Command::Select {
        pane: PaneId::Ring,
        item: Item::Slot(8000),
    });
    let s = split(&mut ui);
    assert!(s.descs.iter().any(|r| r.slot == 8000 && r.selected));
    let screen = ui.screen(Size::new(160, 50));
    let ring = screen.panes.iter().find(|p| p.id == PaneId::Ring).unwrap();
    assert!(
        ring.lines
            .iter()
            .any(|l| l.text().split_whitespace().next() == Some("8000")),
        "slot 8000 not shown"
    );
}
