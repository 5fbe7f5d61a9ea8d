//! Behaviour a user would notice: the validator catches broken plans, the readers accept the
//! benchmark files and reject bad input with a message naming the culprit, and every plan the
//! solver returns is valid (and optimal on instances small enough to enumerate).

use std::time::Duration;

use proptest::prelude::*;
use rdv_planner::synth::tiny;
use rdv_planner::{
    parse_dzn, solve, validate, InputError, Instance, Participant, Plan, Request, Rules, Slot,
    SolveError, SolveOptions,
};

fn part(forbidden: Vec<usize>) -> Participant {
    Participant {
        name: String::new(),
        own_stand: false,
        max_meetings: None,
        forbidden,
    }
}

fn req(a: usize, b: usize) -> Request {
    Request {
        a,
        b,
        weight: 1,
        sessions: None,
        fixed: None,
        after: vec![],
    }
}

fn slots(n: usize, tables: u32) -> Vec<Slot> {
    (0..n)
        .map(|_| Slot {
            day: 0,
            session: 0,
            tables,
        })
        .collect()
}

const MUST: Rules = Rules {
    must_schedule_all: true,
    fairness: None,
    breaks_per_day: false,
};

fn plan(slots: &[Option<usize>]) -> Plan {
    Plan {
        slot: slots.to_vec(),
        table: vec![],
    }
}

#[test]
fn validator_counts_breaks_as_idle_runs_between_meetings() {
    // Participant 0 meets in slots 0, 3 and 5: two breaks (1-2 and 4).
    let inst = Instance::new(
        vec![part(vec![]), part(vec![]), part(vec![]), part(vec![])],
        slots(6, 5),
        vec![req(0, 1), req(0, 2), req(0, 3)],
        vec![],
    )
    .unwrap();
    let v = validate(&inst, &plan(&[Some(0), Some(3), Some(5)]), &MUST);
    assert!(v.is_valid(), "{:?}", v.violations);
    assert_eq!(v.objectives.breaks_per_participant, vec![2, 0, 0, 0]);
    assert_eq!(v.objectives.breaks, 2);
    assert_eq!(v.objectives.break_spread, 2);
    let fair1 = Rules {
        fairness: Some(1),
        ..MUST
    };
    assert!(!validate(&inst, &plan(&[Some(0), Some(3), Some(5)]), &fair1).is_valid());
}

#[test]
fn validator_resets_breaks_at_day_boundaries_when_asked() {
    let mut s = slots(4, 5);
    s[2].day = 1;
    s[3].day = 1;
    let inst = Instance::new(
        vec![part(vec![]), part(vec![]), part(vec![])],
        s,
        vec![req(0, 1), req(0, 2)],
        vec![],
    )
    .unwrap();
    let p = plan(&[Some(0), Some(3)]);
    assert_eq!(validate(&inst, &p, &MUST).objectives.breaks, 1);
    let per_day = Rules {
        breaks_per_day: true,
        ..MUST
    };
    assert_eq!(validate(&inst, &p, &per_day).objectives.breaks, 0);
}

#[test]
fn validator_rejects_each_broken_hard_constraint() {
    let mut parts = vec![part(vec![2]), part(vec![]), part(vec![]), part(vec![])];
    parts[3].max_meetings = Some(1);
    let mut reqs = vec![req(0, 1), req(0, 2), req(1, 2), req(3, 1), req(3, 2)];
    reqs[2].sessions = Some(vec![0]);
    reqs[4].after = vec![3];
    let mut s = slots(4, 1);
    s[3].session = 1;
    let inst = Instance::new(parts, s, reqs, vec![]).unwrap();
    let cases: Vec<(Vec<Option<usize>>, &str)> = vec![
        (
            vec![Some(0), Some(0), Some(1), None, None],
            "participant 0 has requests",
        ),
        (
            vec![Some(2), Some(0), Some(1), None, None],
            "forbidden for participant 0",
        ),
        (
            vec![Some(0), Some(1), Some(3), None, None],
            "outside its sessions",
        ),
        (vec![Some(0), Some(1), Some(2), Some(1), Some(3)], "quota 1"),
        (
            vec![Some(0), Some(1), Some(2), Some(3), Some(0)],
            "must precede",
        ),
        (
            vec![Some(0), Some(1), Some(1), None, None],
            "participant 2 has requests",
        ),
        (
            vec![Some(0), Some(1), Some(2), None, None],
            "request 3 is not scheduled",
        ),
    ];
    for (slots, needle) in cases {
        let v = validate(&inst, &plan(&slots), &MUST);
        assert!(
            v.violations.iter().any(|m| m.contains(needle)),
            "{slots:?}: expected {needle:?} in {:?}",
            v.violations
        );
    }
    // Table capacity: two table meetings in a one-table slot.
    let inst2 = Instance::new(
        vec![part(vec![]), part(vec![]), part(vec![]), part(vec![])],
        slots(2, 1),
        vec![req(0, 1), req(2, 3)],
        vec![],
    )
    .unwrap();
    let v = validate(&inst2, &plan(&[Some(0), Some(0)]), &MUST);
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("uses 2 tables of 1")),
        "{:?}",
        v.violations
    );
}

/// A file of the JAIR benchmark, kept in the repository (`tests/data/b2b-jair`, source in its
/// README).
fn jair_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/b2b-jair")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn dzn_reader_accepts_all_twenty_benchmark_files_with_their_sizes() {
    let csv = jair_file("optima.csv");
    let mut n = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let text = jair_file(&format!("{}.original.dzn", f[0]));
        let inst = parse_dzn(&text).unwrap_or_else(|e| panic!("{}: {e}", f[0]));
        assert_eq!(
            inst.participants.len(),
            f[1].parse::<usize>().unwrap(),
            "{}",
            f[0]
        );
        assert_eq!(
            inst.requests.len(),
            f[2].parse::<usize>().unwrap(),
            "{}",
            f[0]
        );
        assert_eq!(inst.slots.len(), f[3].parse::<usize>().unwrap(), "{}", f[0]);
        assert_eq!(
            inst.slots[0].tables,
            f[4].parse::<u32>().unwrap(),
            "{}",
            f[0]
        );
        let morning = inst.slots.iter().filter(|s| s.session == 0).count();
        assert_eq!(morning, f[5].parse::<usize>().unwrap(), "{}", f[0]);
        n += 1;
    }
    assert_eq!(n, 20);
}

#[test]
fn dzn_reader_reads_forbidden_fixed_and_precedences() {
    let text = "nBusiness = 3; nMeetings = 3; nTables = 2; nTotalSlots = 4; nMorningSlots = 2;
        requested = [|1, 2, 3, |1, 3, 1, |2, 3, 2|];
        forbidden = [{0}, {0,4}, {3..4}];
        fixed = [0, 1, 0];
        precedences = [{}, {}, {1}];";
    let inst = parse_dzn(text).unwrap();
    assert_eq!(inst.participants[1].forbidden, vec![3]);
    assert_eq!(inst.participants[2].forbidden, vec![2, 3]);
    assert_eq!(inst.requests[1].fixed, Some(0));
    assert_eq!(inst.requests[1].sessions, Some(vec![0]));
    assert_eq!(inst.requests[2].after, vec![0]);
    assert_eq!(inst.requests[2].sessions, Some(vec![1]));
}

#[test]
fn bad_input_is_an_error_naming_the_culprit() {
    let unknown = r#"{"participants":[{},{}],"slots":[{"tables":1}],
        "requests":[{"a":0,"b":5}]}"#;
    let e = Instance::from_json(unknown).unwrap_err();
    assert_eq!(
        e,
        InputError::UnknownParticipant {
            request: 0,
            participant: 5
        }
    );
    assert!(e.to_string().contains("unknown participant 5"));

    let fixed_forbidden = r#"{"participants":[{"forbidden":[0]},{}],"slots":[{"tables":1}],
        "requests":[{"a":0,"b":1,"fixed":0}]}"#;
    let e = Instance::from_json(fixed_forbidden).unwrap_err();
    assert_eq!(
        e,
        InputError::FixedSlotForbidden {
            request: 0,
            slot: 0,
            participant: 0
        }
    );

    let negative = r#"{"participants":[{"max_meetings":-2},{}],"slots":[{"tables":1}]}"#;
    let e = Instance::from_json(negative).unwrap_err();
    assert_eq!(
        e,
        InputError::NegativeQuota {
            participant: 0,
            quota: -2
        }
    );

    let empty = r#"{"participants":[],"slots":[]}"#;
    assert!(matches!(
        Instance::from_json(empty),
        Err(InputError::Empty(_))
    ));
    assert!(matches!(
        Instance::from_json("{"),
        Err(InputError::Json { .. })
    ));

    let dzn_unknown = "nBusiness = 2; nMeetings = 1; nTables = 1; nTotalSlots = 2;
        nMorningSlots = 2; requested = [|1, 7, 3|];";
    let e = parse_dzn(dzn_unknown).unwrap_err();
    assert_eq!(
        e,
        InputError::UnknownParticipant {
            request: 0,
            participant: 6
        }
    );
    assert!(matches!(parse_dzn(""), Err(InputError::Dzn(_))));
}

#[test]
fn impossible_must_instance_is_reported_infeasible() {
    // Participant 0 has three requests and two slots.
    let inst = Instance::new(
        vec![part(vec![]), part(vec![]), part(vec![]), part(vec![])],
        slots(2, 5),
        vec![req(0, 1), req(0, 2), req(0, 3)],
        vec![],
    )
    .unwrap();
    let opts = SolveOptions {
        rules: MUST,
        use_mip: false,
        ..Default::default()
    };
    match solve(&inst, &opts, &mut |_| {}) {
        Err(SolveError::Infeasible(m)) => assert!(m.contains("participant 0"), "{m}"),
        other => panic!("expected infeasible, got {other:?}"),
    }
}

#[test]
fn solver_rejects_an_instance_built_with_bad_indices() {
    let mut inst = tiny(1, 4, 3, 3);
    inst.requests[0].b = 99;
    let opts = SolveOptions {
        use_mip: false,
        ..Default::default()
    };
    match solve(&inst, &opts, &mut |_| {}) {
        Err(SolveError::Input(InputError::UnknownParticipant {
            request: 0,
            participant: 99,
        })) => {}
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn native_json_round_trips() {
    let inst = tiny(3, 6, 5, 8);
    let back = Instance::from_json(&inst.to_json()).unwrap();
    assert_eq!(back, inst);
}

fn quick(rules: Rules, seed: u64) -> SolveOptions {
    SolveOptions {
        rules,
        seed,
        time_limit: Duration::from_secs(20),
        iteration_limit: Some(30_000),
        use_mip: false,
    }
}

/// (scheduled weight, -breaks) of the best plan by enumeration.
fn brute_force(inst: &Instance, rules: &Rules) -> Option<(u64, i64)> {
    let nr = inst.requests.len();
    let ns = inst.slots.len();
    let choices = if rules.must_schedule_all { ns } else { ns + 1 };
    let mut best: Option<(u64, i64)> = None;
    let mut idx = vec![0usize; nr];
    loop {
        let slots: Vec<Option<usize>> = idx
            .iter()
            .map(|&i| if i < ns { Some(i) } else { None })
            .collect();
        let v = validate(inst, &plan(&slots), rules);
        if v.is_valid() {
            let key = (v.objectives.scheduled_weight, -(v.objectives.breaks as i64));
            if best.is_none_or(|b| key > b) {
                best = Some(key);
            }
        }
        let mut k = 0;
        loop {
            if k == nr {
                return best;
            }
            idx[k] += 1;
            if idx[k] < choices {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}

#[test]
fn solver_matches_brute_force_on_tiny_instances() {
    let mut compared = 0;
    for seed in 0..40 {
        let inst = tiny(seed, 5, 4, 5);
        for rules in [
            Rules {
                must_schedule_all: false,
                fairness: None,
                breaks_per_day: true,
            },
            Rules {
                must_schedule_all: true,
                fairness: Some(1),
                breaks_per_day: false,
            },
        ] {
            let best = brute_force(&inst, &rules);
            let got = solve(&inst, &quick(rules, seed), &mut |_| {});
            match (best, got) {
                (Some(b), Ok(sol)) => {
                    let v = validate(&inst, &sol.plan, &rules);
                    assert!(v.is_valid(), "seed {seed}: {:?}", v.violations);
                    let key = (v.objectives.scheduled_weight, -(v.objectives.breaks as i64));
                    assert_eq!(key, b, "seed {seed} rules {rules:?}");
                    compared += 1;
                }
                (None, Err(_)) => {}
                (None, Ok(sol)) => {
                    panic!("seed {seed}: solver found {:?} where none exists", sol.plan)
                }
                (Some(b), Err(e)) => {
                    panic!("seed {seed}: optimum {b:?} exists but solver said {e}")
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} instances compared");
}

#[test]
fn same_seed_and_iteration_limit_give_the_same_plan() {
    let inst = tiny(11, 12, 8, 30);
    let rules = Rules {
        must_schedule_all: false,
        fairness: None,
        breaks_per_day: true,
    };
    let a = solve(&inst, &quick(rules, 5), &mut |_| {}).unwrap();
    let b = solve(&inst, &quick(rules, 5), &mut |_| {}).unwrap();
    assert_eq!(a.plan, b.plan);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_returned_plan_passes_the_validator(
        seed in 0u64..10_000, np in 2usize..9, ns in 1usize..7, nr in 0usize..14,
        must in any::<bool>(), fairness in proptest::option::of(0u32..3),
    ) {
        let inst = tiny(seed, np, ns, nr);
        prop_assert!(inst.check().is_ok(), "{:?}", inst.check());
        let rules = Rules { must_schedule_all: must, fairness, breaks_per_day: seed % 2 == 0 };
        let opts = SolveOptions { iteration_limit: Some(3_000), ..quick(rules, seed) };
        if let Ok(sol) = solve(&inst, &opts, &mut |_| {}) {
            let v = validate(&inst, &sol.plan, &rules);
            prop_assert!(v.is_valid(), "{:?}", v.violations);
            prop_assert_eq!(sol.unscheduled.len(), inst.requests.len() - v.objectives.scheduled);
        } else {
            prop_assert!(must);
        }
    }
}

/// Real events run longer than 64 slots: three days of 15-minute slots are 96 and more.
#[test]
fn events_of_more_than_64_slots_are_planned_and_valid() {
    use rdv_planner::synth::{fair, FairShape};
    let shape = FairShape {
        buyers: 60,
        suppliers: 60,
        requests: 900,
        days: 3,
        slots_per_session: 20,
        tables: 12,
        forbidden: 0.05,
        stands: 0.2,
    };
    let inst = fair(&shape, 5);
    assert_eq!(inst.slots.len(), 120);
    let opts = SolveOptions {
        time_limit: Duration::from_secs(3),
        ..SolveOptions::default()
    };
    let sol = solve(&inst, &opts, &mut |_| {}).unwrap();
    let v = validate(&inst, &sol.plan, &opts.rules);
    assert!(v.is_valid(), "{:?}", v.violations);
    assert!(
        sol.objectives.scheduled > 600,
        "{:?}",
        sol.objectives.scheduled
    );
    // The slots past the 64th are used.
    assert!(sol.plan.slot.iter().flatten().any(|&s| s >= 64));
    // More than 128 slots are refused with a clear error.
    let mut longer = inst.clone();
    longer.slots = (0..129)
        .map(|s| Slot {
            day: (s / 43) as u32,
            session: (s / 43) as u32,
            tables: 1,
        })
        .collect();
    let e = Instance::new(longer.participants, longer.slots, vec![], vec![]);
    assert!(matches!(e, Err(InputError::TooManySlots(129))), "{e:?}");
}

/// A caller stops a long solve: the search ends at its next progress report, with a valid
/// plan, and every report describes the best plan so far.
#[test]
fn a_raised_stop_flag_ends_the_search_early_with_a_valid_plan() {
    use rdv_planner::synth::{fair, FairShape};
    use std::sync::atomic::{AtomicBool, Ordering};
    let shape = FairShape {
        buyers: 40,
        suppliers: 40,
        requests: 400,
        days: 1,
        slots_per_session: 16,
        tables: 10,
        forbidden: 0.05,
        stands: 0.2,
    };
    let inst = fair(&shape, 9);
    let opts = SolveOptions {
        time_limit: Duration::from_secs(300),
        ..SolveOptions::default()
    };
    let stop = AtomicBool::new(false);
    let mut reports = Vec::new();
    let sol = rdv_planner::solve_until(&inst, &opts, &stop, &mut |p| {
        reports.push(p.clone());
        stop.store(true, Ordering::Relaxed);
    })
    .unwrap();
    // Without the flag the search would report about once a second for five minutes; raised
    // at the first report, it ends at once (each of the two workers may report once more).
    assert!(
        !reports.is_empty() && reports.len() <= 4,
        "{} reports",
        reports.len()
    );
    for p in &reports {
        assert!(
            p.scheduled > 0 && p.scheduled <= inst.requests.len(),
            "{p:?}"
        );
        assert!(p.weight >= p.scheduled as u64, "{p:?}");
    }
    let v = validate(&inst, &sol.plan, &opts.rules);
    assert!(v.is_valid(), "{:?}", v.violations);
    assert!(sol.objectives.scheduled > 0);
}
