//! Replays the 60 trajectories recorded from Gym 0.26.2 (CartPole-v0) and Gymnasium
//! (CartPole-v1): from each recorded initial state, the recorded actions must reproduce every
//! state within 1e-9 and every reward and flag exactly.

use dqn_envs::{CartPole, CartPoleVersion};
use std::collections::BTreeMap;

const DATA: &str = include_str!("data/cartpole_gym_trajectories.csv");

struct Row {
    t: usize,
    action: Option<usize>,
    state: [f64; 4],
    reward: Option<f64>,
    terminated: Option<bool>,
    truncated: Option<bool>,
}

fn trajectories() -> BTreeMap<(String, u32), Vec<Row>> {
    let mut lines = DATA.lines();
    let header = lines.next().expect("header");
    assert_eq!(
        header,
        "env,traj,t,action,x,x_dot,theta,theta_dot,reward,terminated,truncated"
    );
    let mut out: BTreeMap<(String, u32), Vec<Row>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 11, "bad row: {line}");
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let num = |s: &str| {
            s.parse::<f64>()
                .unwrap_or_else(|_| panic!("number in {line}"))
        };
        let flag = |s: &str| opt(s).map(|v| v == "1");
        out.entry((f[0].to_owned(), f[1].parse().expect("traj")))
            .or_default()
            .push(Row {
                t: f[2].parse().expect("t"),
                action: opt(f[3]).map(|a| a.parse().expect("action")),
                state: [num(f[4]), num(f[5]), num(f[6]), num(f[7])],
                reward: opt(f[8]).map(|r| num(&r)),
                terminated: flag(f[9]),
                truncated: flag(f[10]),
            });
    }
    out
}

#[test]
fn every_recorded_gym_trajectory_is_reproduced() {
    let all = trajectories();
    assert_eq!(all.len(), 60, "the data set has 60 trajectories");
    let mut steps = 0;
    let mut max_err: f64 = 0.0;
    for ((env_id, traj), rows) in &all {
        let version = match env_id.as_str() {
            "CartPole-v0" => CartPoleVersion::V0,
            "CartPole-v1" => CartPoleVersion::V1,
            other => panic!("unknown env {other}"),
        };
        let mut env = CartPole::new(version);
        assert_eq!(rows[0].t, 0);
        env.reset_to(rows[0].state);
        for row in &rows[1..] {
            let action = row.action.expect("action after t=0");
            let step = env.step(action);
            let state = env.state();
            for (k, (ours, gym)) in state.iter().zip(&row.state).enumerate() {
                let err = (ours - gym).abs();
                max_err = max_err.max(err);
                assert!(
                    err <= 1e-9,
                    "{env_id} traj {traj} t {}: state[{k}] = {ours} vs gym {gym}",
                    row.t,
                );
            }
            assert_eq!(
                Some(step.reward),
                row.reward,
                "{env_id} traj {traj} t {}",
                row.t
            );
            assert_eq!(
                Some(step.terminated),
                row.terminated,
                "{env_id} traj {traj} t {}",
                row.t
            );
            assert_eq!(
                Some(step.truncated),
                row.truncated,
                "{env_id} traj {traj} t {}",
                row.t
            );
            // The observation handed to agents is Gym's float32 cast of the state.
            assert_eq!(step.observation, state.map(|v| v as f32));
            steps += 1;
        }
        let last = rows.last().expect("rows");
        assert!(
            last.terminated == Some(true) || last.truncated == Some(true),
            "each recorded trajectory ends its episode"
        );
    }
    assert!(steps > 10_000, "replayed {steps} steps");
    eprintln!("replayed {steps} steps, max |state error| = {max_err:e}");
}

#[test]
fn time_limits_are_200_and_500_and_reset_is_within_005() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for (version, limit) in [(CartPoleVersion::V0, 200), (CartPoleVersion::V1, 500)] {
        let mut env = CartPole::new(version);
        for _ in 0..100 {
            let obs = env.reset(&mut rng);
            assert!(obs.iter().all(|v| v.abs() < 0.05), "{obs:?}");
        }
        // Balance from the upright rest state with a simple controller until the limit.
        env.reset_to([0.0; 4]);
        let mut n = 0;
        loop {
            let s = env.state();
            let action = usize::from(s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0.0);
            let step = env.step(action);
            n += 1;
            if step.done() {
                assert!(step.truncated && !step.terminated, "step {n}");
                break;
            }
        }
        assert_eq!(n, limit);
    }
}
