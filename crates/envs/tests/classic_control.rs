//! Replays the trajectories recorded from Gymnasium 1.4.0 (numpy 2.4.6) for Acrobot-v1 and
//! MountainCar-v0 (`data/classic_control_rec.py`: 8 episodes each, scripted policies mixing
//! random actions with energy pumping, ending by termination and by the time limit). From each
//! recorded reset state, the recorded actions must reproduce every internal state and
//! observation bit for bit, every reward, and the step on which the episode ends and how.

use dqn_envs::{Acrobot, MountainCar, Step};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;

const HEADER: &str = "env,traj,t,action,s0,s1,s2,s3,o0,o1,o2,o3,o4,o5,reward,terminated,truncated";

struct Row {
    action: Option<usize>,
    state: Vec<f64>,
    obs: Vec<f32>,
    reward: Option<f64>,
    terminated: bool,
    truncated: bool,
}

fn trajectories() -> BTreeMap<(String, u32), Vec<Row>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/classic_control_trajectories.csv.gz"
    );
    let mut csv = String::new();
    GzDecoder::new(std::fs::File::open(path).expect("the recorded trajectories"))
        .read_to_string(&mut csv)
        .expect("gunzip");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let mut out: BTreeMap<(String, u32), Vec<Row>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 17, "bad row: {line}");
        let floats = |r: std::ops::Range<usize>| -> Vec<f64> {
            f[r].iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap_or_else(|_| panic!("number in {line}")))
                .collect()
        };
        out.entry((f[0].to_owned(), f[1].parse().expect("traj")))
            .or_default()
            .push(Row {
                action: (!f[3].is_empty()).then(|| f[3].parse().expect("action")),
                state: floats(4..8),
                obs: floats(8..14).iter().map(|&v| v as f32).collect(),
                reward: (!f[14].is_empty()).then(|| f[14].parse().expect("reward")),
                terminated: f[15] == "1",
                truncated: f[16] == "1",
            });
    }
    out
}

/// Step through one recorded trajectory with `step`, comparing as the module doc says.
fn replay<O: AsRef<[f32]>>(
    name: &str,
    rows: &[Row],
    reset_obs: &[f32],
    mut step: impl FnMut(usize) -> (Step<O>, Vec<f64>),
) {
    assert_eq!(reset_obs, rows[0].obs, "{name}: the reset observation");
    for (t, row) in rows.iter().enumerate().skip(1) {
        let (s, state) = step(row.action.expect("an action"));
        assert_eq!(state, row.state, "{name} t={t}: state");
        assert_eq!(s.observation.as_ref(), row.obs, "{name} t={t}: observation");
        assert_eq!(Some(s.reward), row.reward, "{name} t={t}: reward");
        assert_eq!(
            (s.terminated, s.truncated),
            (row.terminated, row.truncated),
            "{name} t={t}: flags"
        );
    }
    let last = rows.last().unwrap();
    assert!(
        last.terminated || last.truncated,
        "{name}: the episode ends"
    );
}

#[test]
fn acrobot_replays_gymnasium_bit_for_bit() {
    let all = trajectories();
    let mut ends = (0, 0);
    for ((env, traj), rows) in all.iter().filter(|((e, _), _)| e == "Acrobot-v1") {
        let mut acrobot = Acrobot::new();
        let s0: [f64; 4] = rows[0].state.clone().try_into().expect("4 values");
        let obs = acrobot.reset_to(s0);
        replay(&format!("{env} #{traj}"), rows, &obs, |a| {
            let s = acrobot.step(a);
            (s, acrobot.state().to_vec())
        });
        let last = rows.last().unwrap();
        ends.0 += usize::from(last.terminated);
        ends.1 += usize::from(last.truncated);
    }
    assert_eq!(
        ends,
        (6, 2),
        "episodes ending by the goal and by the 500-step limit"
    );
}

#[test]
fn mountain_car_replays_gymnasium_bit_for_bit() {
    let all = trajectories();
    let mut ends = (0, 0);
    for ((env, traj), rows) in all.iter().filter(|((e, _), _)| e == "MountainCar-v0") {
        let mut car = MountainCar::new();
        let s0: [f64; 2] = rows[0].state.clone().try_into().expect("2 values");
        let obs = car.reset_to(s0);
        replay(&format!("{env} #{traj}"), rows, &obs, |a| {
            let s = car.step(a);
            (s, car.state().to_vec())
        });
        let last = rows.last().unwrap();
        ends.0 += usize::from(last.terminated);
        ends.1 += usize::from(last.truncated);
    }
    assert_eq!(
        ends,
        (4, 4),
        "episodes ending at the flag and by the 200-step limit"
    );
}

/// Resets draw from the registered ranges: Acrobot ±0.1 in float32 for all four, MountainCar
/// position in [−0.6, −0.4) at rest.
#[test]
fn resets_draw_from_gymnasiums_ranges() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut acrobot, mut car) = (Acrobot::new(), MountainCar::new());
    for _ in 0..200 {
        acrobot.reset(&mut rng);
        assert!(acrobot
            .state()
            .iter()
            .all(|v| (-0.1..0.1).contains(v) && *v == f64::from(*v as f32)));
        car.reset(&mut rng);
        let [p, v] = car.state();
        assert!((-0.6..-0.4).contains(&p) && v == 0.0);
    }
}
