//! Checkpointed env state: for every env kind built by `make`, a state saved mid-episode, right
//! after a reset and right after an episode ended, loaded into a *fresh* env of the same spec
//! and seed, makes it reset and step exactly as the saved env: every observation (bit for bit),
//! reward and flag over a few hundred steps across episode boundaries. Garbage, truncated
//! states and the states of other env kinds are rejected as `Corrupt`, leaving the env as it
//! was.

use dqn_envs::atari::AtariOptions;
use dqn_envs::{make, AnyEnv, Env, EnvSpec, EnvStateError, ObsElem, Observe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Boxed<E> = Box<dyn Env<Elem = E>>;

/// `id` with `make`'s defaults: no wrappers, MinAtar's sticky actions and ramping.
fn spec(id: &str) -> EnvSpec {
    EnvSpec {
        id: id.parse().unwrap(),
        observe: Observe::Full,
        frame_stack: 1,
        max_episode_steps: None,
        sticky_action_prob: 0.1,
        difficulty_ramping: true,
        unlimited: false,
        atari: AtariOptions::default(),
    }
}

fn vector(spec: &EnvSpec, seed: u32) -> Boxed<f32> {
    match make(spec, seed) {
        AnyEnv::Vector(env) => env,
        AnyEnv::Pixels(_) => panic!("{:?} has pixels", spec.id),
    }
}

fn pixels(spec: &EnvSpec, seed: u32) -> Boxed<u8> {
    match make(spec, seed) {
        AnyEnv::Pixels(env) => env,
        AnyEnv::Vector(_) => panic!("{:?} has state vectors", spec.id),
    }
}

/// The moments a state is saved at.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moment {
    /// The episode ended on the last step; the next call is a reset.
    AfterEnd,
    /// The first observation of an episode is out.
    AfterReset,
    /// A few steps into an episode.
    MidEpisode,
}

/// Random actions and resets, both from seeded generators, so that two drivers cloned from
/// one another drive two envs identically.
#[derive(Clone)]
struct Driver {
    actions: ChaCha8Rng,
    resets: ChaCha8Rng,
    needs_reset: bool,
    steps_in_episode: u32,
}

/// One reset or step as seen from outside: the observation's bits and, for a step, the
/// reward's bits and the flags.
type Event = (Vec<u32>, Option<(u64, bool, bool)>);

impl Driver {
    fn new(seed: u64) -> Self {
        Driver {
            actions: ChaCha8Rng::seed_from_u64(seed),
            resets: ChaCha8Rng::seed_from_u64(seed + 1000),
            needs_reset: true,
            steps_in_episode: 0,
        }
    }

    /// One reset (when the last episode ended) or one step of a random action.
    fn advance<E: ObsElem>(&mut self, env: &mut dyn Env<Elem = E>, obs: &mut [E]) -> Event {
        let bits = |obs: &[E]| obs.iter().map(|v| v.to_f32().to_bits()).collect();
        if self.needs_reset {
            env.reset_into(&mut self.resets, obs);
            self.needs_reset = false;
            self.steps_in_episode = 0;
            return (bits(obs), None);
        }
        let action = self.actions.gen_range(0..env.num_actions());
        let step = env.step_into(action, obs);
        self.needs_reset = step.done();
        self.steps_in_episode += 1;
        let flags = (step.reward.to_bits(), step.terminated, step.truncated);
        (bits(obs), Some(flags))
    }

    /// What the moment just after the last [`Driver::advance`] is.
    fn moment(&self) -> Moment {
        match (self.needs_reset, self.steps_in_episode) {
            (true, _) => Moment::AfterEnd,
            (false, 0) => Moment::AfterReset,
            (false, _) => Moment::MidEpisode,
        }
    }
}

/// What [`check_resume`] saw.
#[derive(Debug, Default)]
struct Seen {
    /// Episodes ended.
    episodes: usize,
    /// Planned moments at which `save_state` was `Unsupported` (and skipped).
    unsupported: usize,
}

/// Drive `a` through episodes; at each moment of `plan` (mid-episode ones `mid_depth` steps or
/// more into an episode) save its state, load it into a fresh env from `build`, and drive both
/// identically for `compare` events, which must agree exactly. A moment whose save is
/// `Unsupported` is skipped (only envs that do not save mid-episode may refuse).
fn check_resume<E: ObsElem>(
    name: &str,
    build: impl Fn() -> Boxed<E>,
    plan: &[Moment],
    mid_depth: u32,
    compare: usize,
) -> Seen {
    let mut a = build();
    let n = a.obs_shape().len();
    let mut obs_a = vec![E::default(); n];
    let mut driver = Driver::new(7);
    let (mut seen, mut planned) = (Seen::default(), plan.iter().peekable());
    for _ in 0..200_000 {
        let Some(&&wanted) = planned.peek() else {
            return seen;
        };
        driver.advance(a.as_mut(), &mut obs_a);
        let moment = driver.moment();
        seen.episodes += usize::from(moment == Moment::AfterEnd);
        if moment != wanted || (moment == Moment::MidEpisode && driver.steps_in_episode < mid_depth)
        {
            continue;
        }
        let state = match a.save_state() {
            Ok(state) => state,
            Err(EnvStateError::Unsupported(e)) if !a.saves_mid_episode() => {
                seen.unsupported += 1;
                assert!(seen.unsupported < 1000, "{name}: {e}");
                continue;
            }
            Err(e) => panic!("{name} at {moment:?}: {e}"),
        };
        planned.next();
        let mut b = build();
        b.load_state(&state)
            .unwrap_or_else(|e| panic!("{name} at {moment:?}: {e}"));
        seen.episodes +=
            compare_after_loading(name, moment, (a.as_mut(), b.as_mut()), &mut driver, compare);
    }
    panic!("{name}: the plan {plan:?} was not reached");
}

/// Drive `a` and `b` identically for `compare` events (`driver` goes on with `a`); every event
/// must agree exactly, and so must the states saved at the end. Returns the episodes ended.
fn compare_after_loading<E: ObsElem>(
    name: &str,
    moment: Moment,
    (a, b): (&mut dyn Env<Elem = E>, &mut dyn Env<Elem = E>),
    driver: &mut Driver,
    compare: usize,
) -> usize {
    let n = a.obs_shape().len();
    let (mut obs_a, mut obs_b) = (vec![E::default(); n], vec![E::default(); n]);
    let mut driver_b = driver.clone();
    let mut episodes = 0;
    for t in 0..compare {
        let ea = driver.advance(a, &mut obs_a);
        let eb = driver_b.advance(b, &mut obs_b);
        assert!(
            ea == eb,
            "{name}: saved at {moment:?}, event {t} after loading differs"
        );
        episodes += usize::from(driver.moment() == Moment::AfterEnd);
    }
    // Where both can save, they save the same bytes.
    if let (Ok(sa), Ok(sb)) = (a.save_state(), b.save_state()) {
        assert!(
            sa == sb,
            "{name}: saved at {moment:?}, the states differ after"
        );
    }
    episodes
}

use Moment::*;
/// Each moment twice, in an order that puts them in different episodes.
const PLAN: [Moment; 6] = [
    MidEpisode, AfterEnd, AfterReset, MidEpisode, AfterEnd, AfterReset,
];

fn check_vector(name: &str, spec: &EnvSpec) {
    let seen = check_resume(name, || vector(spec, 3), &PLAN, 5, 300);
    assert!(
        seen.episodes >= 4 && seen.unsupported == 0,
        "{name}: {seen:?}"
    );
}

fn check_pixels(name: &str, spec: &EnvSpec, mid_depth: u32, compare: usize) {
    let seen = check_resume(name, || pixels(spec, 3), &PLAN, mid_depth, compare);
    assert!(
        seen.episodes >= 4 && seen.unsupported == 0,
        "{name}: {seen:?}"
    );
}

#[test]
fn classic_control_resumes_exactly() {
    for id in ["CartPole-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0"] {
        check_vector(id, &spec(id));
    }
    // Random actions end CartPole's episodes quickly even without a time limit.
    let unlimited = EnvSpec {
        unlimited: true,
        ..spec("CartPole-v0")
    };
    check_vector("CartPole-v0 unlimited", &unlimited);
}

#[test]
fn wrapped_cartpole_resumes_exactly() {
    let base = spec("CartPole-v1");
    let stacked = EnvSpec {
        frame_stack: 4,
        ..base.clone()
    };
    check_vector("FrameStack(CartPole)", &stacked);
    let positions = EnvSpec {
        observe: Observe::Positions,
        ..base.clone()
    };
    check_vector("KeepComponents(CartPole)", &positions);
    let limited = EnvSpec {
        max_episode_steps: Some(20),
        ..base.clone()
    };
    check_vector("TimeLimit(CartPole)", &limited);
    let all = EnvSpec {
        observe: Observe::Positions,
        max_episode_steps: Some(30),
        frame_stack: 3,
        ..base
    };
    check_vector("FrameStack(TimeLimit(KeepComponents(CartPole)))", &all);
}

/// Every game, with the package's sticky actions and ramping and without either. A random
/// policy's episodes are short in all but Freeway (2500 frames) and, with luck, Seaquest.
#[test]
fn minatar_resumes_exactly() {
    for game in [
        "Breakout",
        "SpaceInvaders",
        "Freeway",
        "Asterix",
        "Seaquest",
    ] {
        let id = format!("MinAtar/{game}");
        for (sticky, ramping) in [(0.1, true), (0.0, false)] {
            let spec = EnvSpec {
                sticky_action_prob: sticky,
                difficulty_ramping: ramping,
                ..spec(&id)
            };
            let name = format!("{id} sticky {sticky} ramping {ramping}");
            check_pixels(&name, &spec, 40, 400);
        }
    }
}

#[test]
fn wrapped_minatar_resumes_exactly() {
    let stacked = EnvSpec {
        frame_stack: 4,
        ..spec("MinAtar/Breakout")
    };
    check_pixels("FrameStack(MinAtar/Breakout)", &stacked, 10, 300);
    let limited = EnvSpec {
        max_episode_steps: Some(60),
        frame_stack: 2,
        ..spec("MinAtar/Freeway")
    };
    check_pixels("FrameStack(TimeLimit(MinAtar/Freeway))", &limited, 10, 300);
}

/// `load_state(bytes)` is `Err(Corrupt)`, and the env saves the same state as before.
fn rejects<E: ObsElem>(env: &mut dyn Env<Elem = E>, bytes: &[u8], what: &str) {
    let before = env.save_state().unwrap();
    match env.load_state(bytes) {
        Err(EnvStateError::Corrupt(_)) => {}
        other => panic!("{what}: {other:?}"),
    }
    assert_eq!(env.save_state().unwrap(), before, "{what}: the env changed");
}

/// Garbage, every truncation (every 7th for long states), a byte too many, and the state of
/// every other env kind (`others`).
fn check_rejections<E: ObsElem>(name: &str, env: &mut dyn Env<Elem = E>, others: &[Vec<u8>]) {
    let mut obs = vec![E::default(); env.obs_shape().len()];
    let mut driver = Driver::new(1);
    for _ in 0..30 {
        driver.advance(env, &mut obs);
    }
    let own = env.save_state().unwrap();
    let mut noise = ChaCha8Rng::seed_from_u64(5);
    for len in [0, 1, 8, 100, own.len()] {
        let garbage: Vec<u8> = (0..len).map(|_| noise.gen()).collect();
        rejects(env, &garbage, &format!("{name}: {len} random bytes"));
        rejects(env, &vec![0; len], &format!("{name}: {len} zeros"));
    }
    let stride = if own.len() > 2000 { 7 } else { 1 };
    for n in (0..own.len()).step_by(stride) {
        rejects(env, &own[..n], &format!("{name}: truncated to {n}"));
    }
    rejects(
        env,
        &[own.as_slice(), &[0]].concat(),
        &format!("{name}: + 1"),
    );
    for (i, other) in others.iter().enumerate() {
        if *other != own {
            rejects(env, other, &format!("{name}: the state of env {i}"));
        }
    }
    env.load_state(&own).unwrap();
}

/// Specs of every kind of env, pairwise different in kind or settings.
fn all_kinds() -> Vec<EnvSpec> {
    let mut specs: Vec<EnvSpec> = ["CartPole-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0"]
        .into_iter()
        .map(spec)
        .collect();
    specs.push(EnvSpec {
        unlimited: true,
        ..spec("CartPole-v1")
    });
    specs.push(EnvSpec {
        observe: Observe::Positions,
        ..spec("CartPole-v1")
    });
    specs.push(EnvSpec {
        max_episode_steps: Some(20),
        ..spec("CartPole-v1")
    });
    specs.push(EnvSpec {
        frame_stack: 4,
        ..spec("CartPole-v1")
    });
    for game in [
        "Breakout",
        "SpaceInvaders",
        "Freeway",
        "Asterix",
        "Seaquest",
    ] {
        specs.push(spec(&format!("MinAtar/{game}")));
    }
    specs.push(EnvSpec {
        sticky_action_prob: 0.0,
        ..spec("MinAtar/Breakout")
    });
    specs.push(EnvSpec {
        difficulty_ramping: false,
        ..spec("MinAtar/Seaquest")
    });
    specs.push(EnvSpec {
        frame_stack: 4,
        ..spec("MinAtar/Breakout")
    });
    specs
}

#[test]
fn garbage_truncated_and_foreign_states_are_corrupt() {
    let specs = all_kinds();
    let states: Vec<Vec<u8>> = specs
        .iter()
        .map(|s| match make(s, 3) {
            AnyEnv::Vector(env) => env.save_state().unwrap(),
            AnyEnv::Pixels(env) => env.save_state().unwrap(),
        })
        .collect();
    for (i, s) in specs.iter().enumerate() {
        let others: Vec<Vec<u8>> = [&states[..i], &states[i + 1..]].concat();
        let name = format!("{s:?}");
        match make(s, 3) {
            AnyEnv::Vector(mut env) => check_rejections(&name, env.as_mut(), &others),
            AnyEnv::Pixels(mut env) => check_rejections(&name, env.as_mut(), &others),
        }
    }
}

/// A MinAtar env saves its generator's position, not the seed it was built with: a state
/// loads into an env of another seed and continues the saved stream.
#[test]
fn a_minatar_state_carries_its_own_generator() {
    let spec = spec("MinAtar/Asterix");
    let mut a = pixels(&spec, 3);
    let mut obs = vec![0u8; a.obs_shape().len()];
    let mut driver = Driver::new(2);
    for _ in 0..500 {
        driver.advance(a.as_mut(), &mut obs);
    }
    let mut b = pixels(&spec, 99);
    b.load_state(&a.save_state().unwrap()).unwrap();
    let mut driver_b = driver.clone();
    let mut obs_b = obs.clone();
    for _ in 0..500 {
        assert!(driver.advance(a.as_mut(), &mut obs) == driver_b.advance(b.as_mut(), &mut obs_b));
    }
}

/// The sizes of the saved states, fresh and after 300 random steps and resets
/// (`cargo test --test env_state state_sizes -- --nocapture` prints them).
#[test]
fn state_sizes() {
    fn sizes<E: ObsElem>(mut env: Boxed<E>) -> (usize, usize) {
        let fresh = env.save_state().unwrap().len();
        let mut obs = vec![E::default(); env.obs_shape().len()];
        let mut driver = Driver::new(4);
        for _ in 0..300 {
            driver.advance(env.as_mut(), &mut obs);
        }
        (fresh, env.save_state().unwrap().len())
    }
    for s in all_kinds() {
        let (fresh, played) = match make(&s, 3) {
            AnyEnv::Vector(env) => sizes(env),
            AnyEnv::Pixels(env) => sizes(env),
        };
        println!(
            "{} (stack {}, {:?}, limit {:?}, sticky {}, ramping {}, unlimited {}): {fresh} bytes fresh, {played} after 300 events",
            s.id, s.frame_stack, s.observe, s.max_episode_steps, s.sticky_action_prob,
            s.difficulty_ramping, s.unlimited
        );
        assert!(fresh.max(played) < 20_000);
    }
}

/// ALE saves at episode boundaries only (`saves_mid_episode() == false`): the preprocessed
/// stack of `make`, frame stack included, resumes exactly from there.
#[cfg(feature = "atari")]
mod atari {
    use super::*;
    use dqn_envs::atari::ale::AleEnv;
    use dqn_envs::atari::AtariGame;

    fn atari_spec(game: &str, atari: AtariOptions, frame_stack: usize) -> EnvSpec {
        EnvSpec {
            atari,
            frame_stack,
            ..spec(&format!("ALE/{game}"))
        }
    }

    /// Pong as `make` builds it (sticky actions 0.25, up to 30 no-ops, frame skip 4, 84×84,
    /// 4 frames stacked), with episodes capped at 2000 frames so that several end by
    /// truncation, mid-game.
    fn pong() -> EnvSpec {
        let opts = AtariOptions {
            max_episode_frames: 2000,
            ..AtariOptions::default()
        };
        atari_spec("Pong", opts, 4)
    }

    #[test]
    fn ale_resumes_exactly_from_episode_boundaries() {
        let spec = pong();
        assert!(!pixels(&spec, 3).saves_mid_episode());
        let seen = check_resume("ALE/Pong", || pixels(&spec, 3), &[AfterEnd; 3], 0, 700);
        assert!(seen.episodes >= 4 && seen.unsupported == 0, "{seen:?}");
    }

    /// Breakout with life-loss episodes and FIRE on reset: a save after a lost life is
    /// `Unsupported` (the game goes on), one after the game is over resumes exactly, across
    /// the following life-loss episodes and game over.
    #[test]
    fn episodic_life_saves_only_after_a_game_over() {
        let opts = AtariOptions {
            terminal_on_life_loss: true,
            fire_reset: true,
            ..AtariOptions::default()
        };
        let spec = atari_spec("Breakout", opts, 1);
        let seen = check_resume("ALE/Breakout", || pixels(&spec, 3), &[AfterEnd; 2], 0, 600);
        assert!(seen.unsupported >= 4, "{seen:?}");
        let mut env = pixels(&spec, 3);
        let mut obs = vec![0u8; env.obs_shape().len()];
        let mut driver = Driver::new(3);
        for _ in 0..10 {
            driver.advance(env.as_mut(), &mut obs);
        }
        assert!(matches!(
            env.save_state(),
            Err(EnvStateError::Unsupported(_))
        ));
    }

    #[test]
    fn ale_rejects_garbage_and_other_games_states() {
        let other = |game: &str, sticky: f64| {
            let opts = AtariOptions {
                repeat_action_probability: sticky,
                max_episode_frames: 2000,
                ..AtariOptions::default()
            };
            pixels(&atari_spec(game, opts, 4), 3).save_state().unwrap()
        };
        let others = [
            other("Breakout", 0.25),
            other("Pong", 0.0),
            vector(&spec("CartPole-v1"), 3).save_state().unwrap(),
        ];
        check_rejections("ALE/Pong", pixels(&pong(), 3).as_mut(), &others);
    }

    /// ALE itself aborts on a malformed state and misreads another cartridge's: the emulator
    /// checks both first.
    #[test]
    fn the_emulator_checks_the_cartridge_before_restoring() {
        let opts = AtariOptions::default();
        let game = |name| AtariGame::from_name(name).unwrap();
        let mut pong = AleEnv::new(game("Pong"), &opts, 1).unwrap();
        let mut breakout = AleEnv::new(game("Breakout"), &opts, 1).unwrap();
        let theirs = breakout.emulator().system_state();
        let err = pong.emulator().restore_system_state(&theirs).unwrap_err();
        assert!(err.contains("md5"), "{err}");
        let own = pong.emulator().system_state();
        for bad in [&own[..0], &own[..40], &own[..own.len() - 1]] {
            assert!(pong.emulator().restore_system_state(bad).is_err());
        }
        pong.emulator().restore_system_state(&own).unwrap();
        println!(
            "ALE/Pong: the emulator's system state is {} bytes",
            own.len()
        );
    }

    #[test]
    fn ale_state_sizes() {
        let state = pixels(&pong(), 3).save_state().unwrap();
        println!("ALE/Pong (4 frames stacked): {} bytes", state.len());
        let plain = atari_spec("Pong", AtariOptions::default(), 1);
        let state = pixels(&plain, 3).save_state().unwrap();
        println!("ALE/Pong: {} bytes", state.len());
    }
}
