//! Scores on one scale across environments: `(score − random) / (reference − random)`, so a
//! uniformly random policy scores 0 and the reference `[report.normalize]` states scores 1
//! (rliable's normalisation; Atari's human-normalised score is the same with a human
//! reference). The random score is stated or measured here, by playing whole games.

use crate::config::{EnvConfig, Experiment, ScoreReference};
use crate::env::{self, AnyEnv, Env};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Episodes of random play measured per environment (fewer when they pass [`RANDOM_STEPS`]).
pub const RANDOM_EPISODES: u32 = 100;
/// Env steps after which random play stops at the end of the current episode (long Atari
/// games); at least one episode is always played.
pub const RANDOM_STEPS: u64 = 200_000;

/// How one environment's returns are normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    /// The environment id, e.g. `MinAtar/Breakout`.
    pub env: String,
    /// A uniformly random policy's mean return (scores 0).
    pub random: f64,
    /// Random episodes measured; `None` when `random` was stated in the experiment file.
    pub random_episodes: Option<u32>,
    /// The return that scores 1, and where it comes from.
    pub reference: f64,
    pub source: String,
}

impl Normalizer {
    /// `(x − random) / (reference − random)`.
    pub fn apply(&self, x: f64) -> f64 {
        (x - self.random) / (self.reference - self.random)
    }

    fn of(env: &EnvConfig, r: &ScoreReference) -> Normalizer {
        let (random, random_episodes) = match r.random {
            Some(v) => (v, None),
            None => {
                let (mean, n) = random_policy_return(env);
                (mean, Some(n))
            }
        };
        Normalizer {
            env: env.id.to_string(),
            random,
            random_episodes,
            reference: r.reference,
            source: r.source.clone(),
        }
    }
}

/// One normaliser per environment of the grid that `[report.normalize]` names, in grid order.
pub fn normalizers(exp: &Experiment) -> Vec<Normalizer> {
    super::per_env::env_ids(exp)
        .iter()
        .filter_map(|id| {
            let r = exp.report.normalize.get(id)?;
            let point = exp.points.iter().find(|p| p.env.id.to_string() == *id)?;
            Some(Normalizer::of(&point.env, r))
        })
        .collect()
}

/// The normaliser of environment `id`, if stated.
pub fn find<'a>(norms: &'a [Normalizer], id: &str) -> Option<&'a Normalizer> {
    norms.iter().find(|n| n.env == id)
}

/// Mean return of a uniformly random policy over [`RANDOM_EPISODES`] whole games (no
/// life-loss ends, the env's own time limit), and the number of episodes played. The RNG
/// is seeded from the env's config, so the figure is the same on every report.
pub fn random_policy_return(cfg: &EnvConfig) -> (f64, u32) {
    let mut spec = cfg.spec();
    spec.atari.terminal_on_life_loss = false;
    let key = serde_json::to_string(&(cfg, "random-policy")).expect("configs serialise");
    let mut rng = ChaCha8Rng::seed_from_u64(super::label_seed(&key));
    match env::make(&spec, rng.gen()) {
        AnyEnv::Vector(e) => play_randomly(e, &mut rng),
        AnyEnv::Pixels(e) => play_randomly(e, &mut rng),
    }
}

fn play_randomly<E: env::ObsElem>(
    mut env: Box<dyn Env<Elem = E>>,
    rng: &mut ChaCha8Rng,
) -> (f64, u32) {
    let mut obs = vec![E::default(); env.obs_shape().len()];
    let (mut total, mut episodes, mut steps) = (0.0, 0u32, 0u64);
    while episodes < RANDOM_EPISODES && (episodes == 0 || steps < RANDOM_STEPS) {
        env.reset_into(rng, &mut obs);
        loop {
            let step = env.step_into(rng.gen_range(0..env.num_actions()), &mut obs);
            total += step.reward;
            steps += 1;
            if step.terminated || step.truncated {
                break;
            }
        }
        episodes += 1;
    }
    (total / f64::from(episodes), episodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    fn minatar(game: &str) -> EnvConfig {
        let text = format!("[env]\nid = \"MinAtar/{game}\"\n");
        let exp = Experiment::parse(&text, std::path::Path::new("t.toml")).expect("parses");
        let RunConfig { env, .. } = exp.points[0].run(0);
        env
    }

    #[test]
    fn normalizer_maps_random_to_0_and_reference_to_1() {
        let n = Normalizer {
            env: "x".into(),
            random: 2.0,
            random_episodes: None,
            reference: 10.0,
            source: String::new(),
        };
        assert_eq!((n.apply(2.0), n.apply(10.0), n.apply(6.0)), (0.0, 1.0, 0.5));
        assert_eq!(n.apply(-6.0), -1.0);
    }

    #[test]
    fn random_play_is_seeded_and_scores_like_random_play() {
        // A random Breakout policy rarely hits the ball: well under 1 point per game; the
        // figure is the same every time (seeded from the config), and differs per game.
        let breakout = random_policy_return(&minatar("Breakout"));
        assert_eq!(breakout, random_policy_return(&minatar("Breakout")));
        assert_eq!(breakout.1, RANDOM_EPISODES);
        assert!(breakout.0 >= 0.0 && breakout.0 < 1.0, "{breakout:?}");
        let invaders = random_policy_return(&minatar("SpaceInvaders"));
        assert!(invaders.0 > breakout.0, "{invaders:?} vs {breakout:?}");
    }
}
