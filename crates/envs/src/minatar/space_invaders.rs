//! Space Invaders: a cannon on the bottom row shoots upward at a block of aliens that sweeps
//! sideways, stepping down and turning at the edges, and shoots back. +1 per alien hit; the
//! aliens speed up as they thin out, and each new wave moves a little faster (with difficulty
//! ramping). The episode ends when an alien or an alien bullet reaches the cannon. Two channels
//! give the aliens' current direction. Port of MinAtar 1.0.15's
//! `minatar/environments/space_invaders.py`.

use serde::{Deserialize, Serialize};

use super::{Action, Frame, GameLogic, NumpyRandomState, SIZE};

// Channels, in the order of the Python `channels` dict.
const CANNON: usize = 0;
const ALIEN: usize = 1;
const ALIEN_LEFT: usize = 2;
const ALIEN_RIGHT: usize = 3;
const FRIENDLY_BULLET: usize = 4;
const ENEMY_BULLET: usize = 5;

const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_MOVE_INTERVAL: i32 = 12;
const ENEMY_SHOT_INTERVAL: i32 = 10;

/// A 10×10 occupancy map, `map[y][x]` (the Python float arrays hold only 0 and 1).
type Map = [[bool; SIZE]; SIZE];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SpaceInvaders {
    ramping: bool,
    /// Cannon column (row 9).
    pos: i32,
    f_bullet_map: Map,
    e_bullet_map: Map,
    alien_map: Map,
    /// -1: moving left, +1: moving right.
    alien_dir: i32,
    enemy_move_interval: i32,
    alien_move_timer: i32,
    alien_shot_timer: i32,
    ramp_index: i32,
    shot_timer: i32,
    terminal: bool,
}

impl SpaceInvaders {
    pub(super) fn new(ramping: bool, rng: &mut NumpyRandomState) -> Self {
        let mut env = SpaceInvaders {
            ramping,
            pos: 0,
            f_bullet_map: [[false; SIZE]; SIZE],
            e_bullet_map: [[false; SIZE]; SIZE],
            alien_map: [[false; SIZE]; SIZE],
            alien_dir: 0,
            enemy_move_interval: 0,
            alien_move_timer: 0,
            alien_shot_timer: 0,
            ramp_index: 0,
            shot_timer: 0,
            terminal: false,
        };
        env.reset(rng);
        env
    }

    /// A fresh wave: `alien_map[0:4, 2:8] = 1`.
    fn spawn_wave(&mut self) {
        for row in &mut self.alien_map[0..4] {
            row[2..8].fill(true);
        }
    }

    /// Aliens step: down (turning) at an edge they are heading into, else sideways.
    fn move_aliens(&mut self) {
        self.alien_move_timer = (count(&self.alien_map) as i32).min(self.enemy_move_interval);
        let at_left = column_any(&self.alien_map, 0);
        let at_right = column_any(&self.alien_map, 9);
        if (at_left && self.alien_dir < 0) || (at_right && self.alien_dir > 0) {
            self.alien_dir = -self.alien_dir;
            if self.alien_map[9].iter().any(|&a| a) {
                self.terminal = true;
            }
            // np.roll(alien_map, 1, axis=0): the bottom row wraps round to the top.
            self.alien_map.rotate_right(1);
        } else {
            // np.roll(alien_map, alien_dir, axis=1)
            for row in &mut self.alien_map {
                if self.alien_dir > 0 {
                    row.rotate_right(1);
                } else {
                    row.rotate_left(1);
                }
            }
        }
        if self.alien_map[9][self.pos as usize] {
            self.terminal = true;
        }
    }

    /// `_nearest_alien(pos)`: the lowest alien of the occupied column closest to `pos` (ties:
    /// the left column first, as Python's stable sort keeps `range(10)` order).
    fn nearest_alien(&self, pos: i32) -> Option<(usize, usize)> {
        let mut search_order = [0i32; SIZE];
        for (slot, i) in search_order.iter_mut().zip(0..) {
            *slot = i;
        }
        search_order.sort_by_key(|&x| (x - pos).abs());
        search_order.into_iter().find_map(|i| {
            let col = i as usize;
            (0..SIZE)
                .rev()
                .find(|&y| self.alien_map[y][col])
                .map(|y| (y, col))
        })
    }
}

/// `np.count_nonzero(map)`.
fn count(map: &Map) -> usize {
    map.iter().flatten().filter(|&&v| v).count()
}

/// `np.sum(map[:, x]) > 0`.
fn column_any(map: &Map, x: usize) -> bool {
    map.iter().any(|row| row[x])
}

impl GameLogic for SpaceInvaders {
    fn reset(&mut self, _rng: &mut NumpyRandomState) {
        self.pos = 5;
        self.f_bullet_map = [[false; SIZE]; SIZE];
        self.e_bullet_map = [[false; SIZE]; SIZE];
        self.alien_map = [[false; SIZE]; SIZE];
        self.spawn_wave();
        self.alien_dir = -1;
        self.enemy_move_interval = ENEMY_MOVE_INTERVAL;
        self.alien_move_timer = self.enemy_move_interval;
        self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
        self.ramp_index = 0;
        self.shot_timer = 0;
        self.terminal = false;
    }

    fn act(&mut self, action: Action, _rng: &mut NumpyRandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, self.terminal);
        }
        let pos = self.pos as usize;

        // Resolve player action
        match action {
            Action::Fire if self.shot_timer == 0 => {
                self.f_bullet_map[9][pos] = true;
                self.shot_timer = SHOT_COOL_DOWN;
            }
            Action::Left => self.pos = (self.pos - 1).max(0),
            Action::Right => self.pos = (self.pos + 1).min(9),
            _ => {}
        }
        let pos = self.pos as usize;

        // Update Friendly Bullets: np.roll(-1, axis=0), then clear the bottom row
        self.f_bullet_map.rotate_left(1);
        self.f_bullet_map[9] = [false; SIZE];

        // Update Enemy Bullets: np.roll(1, axis=0), then clear the top row
        self.e_bullet_map.rotate_right(1);
        self.e_bullet_map[0] = [false; SIZE];
        if self.e_bullet_map[9][pos] {
            self.terminal = true;
        }

        // Update aliens
        if self.alien_map[9][pos] {
            self.terminal = true;
        }
        if self.alien_move_timer == 0 {
            self.move_aliens();
        }
        if self.alien_shot_timer == 0 {
            self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
            // Always found: a cleared wave is replaced at the end of the same frame (Python
            // would fail on `None` here otherwise).
            if let Some((y, x)) = self.nearest_alien(self.pos) {
                self.e_bullet_map[y][x] = true;
            }
        }

        // Aliens and friendly bullets on the same cell destroy each other
        for (aliens, bullets) in self.alien_map.iter_mut().zip(&mut self.f_bullet_map) {
            for (alien, bullet) in aliens.iter_mut().zip(bullets.iter_mut()) {
                if *alien && *bullet {
                    r += 1;
                    *alien = false;
                    *bullet = false;
                }
            }
        }

        // Update various timers
        self.shot_timer -= i32::from(self.shot_timer > 0);
        self.alien_move_timer -= 1;
        self.alien_shot_timer -= 1;
        if count(&self.alien_map) == 0 {
            if self.enemy_move_interval > 6 && self.ramping {
                self.enemy_move_interval -= 1;
                self.ramp_index += 1;
            }
            self.spawn_wave();
        }
        (r, self.terminal)
    }

    fn difficulty_ramp(&self) -> Option<i32> {
        Some(self.ramp_index)
    }

    fn render(&self, frame: &mut Frame) {
        frame.set(9, self.pos, CANNON);
        let direction = if self.alien_dir < 0 {
            ALIEN_LEFT
        } else {
            ALIEN_RIGHT
        };
        for y in 0..SIZE {
            for x in 0..SIZE {
                let (yi, xi) = (y as i32, x as i32);
                if self.alien_map[y][x] {
                    frame.set(yi, xi, ALIEN);
                    frame.set(yi, xi, direction);
                }
                if self.f_bullet_map[y][x] {
                    frame.set(yi, xi, FRIENDLY_BULLET);
                }
                if self.e_bullet_map[y][x] {
                    frame.set(yi, xi, ENEMY_BULLET);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_alien_prefers_the_left_column_on_ties() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = SpaceInvaders::new(true, &mut rng);
        env.alien_map = [[false; SIZE]; SIZE];
        env.alien_map[2][3] = true;
        env.alien_map[5][7] = true;
        env.alien_map[1][7] = true;
        assert_eq!(env.nearest_alien(5), Some((2, 3)));
        assert_eq!(env.nearest_alien(6), Some((5, 7)));
        env.alien_map = [[false; SIZE]; SIZE];
        assert_eq!(env.nearest_alien(5), None);
    }

    /// Python: `if(self.enemy_move_interval>6 and self.ramping)`: each cleared wave makes the
    /// next one move a frame sooner (and raises the ramp) down to every 6 frames; without
    /// ramping never. A new wave appears in the same frame either way.
    #[test]
    fn cleared_waves_speed_up_down_to_every_six_frames() {
        for (ramping, interval, expected) in [
            (true, 12, (11, 1)),
            (true, 7, (6, 1)),
            (true, 6, (6, 0)),
            (false, 12, (12, 0)),
        ] {
            let mut rng = NumpyRandomState::new(0);
            let mut env = SpaceInvaders::new(ramping, &mut rng);
            env.enemy_move_interval = interval;
            env.alien_map = [[false; SIZE]; SIZE];
            env.alien_map[3][5] = true; // the last alien
            env.f_bullet_map[4][5] = true; // flies up into it this frame
            (env.alien_move_timer, env.alien_shot_timer) = (5, 5);
            assert_eq!(env.act(Action::Noop, &mut rng), (1, false));
            assert_eq!(
                (env.enemy_move_interval, env.ramp_index),
                expected,
                "ramping {ramping}, interval {interval}"
            );
            assert_eq!(count(&env.alien_map), 24, "a new wave");
        }
    }

    #[test]
    fn aliens_on_the_bottom_row_wrap_to_the_top_when_stepping_down() {
        // np.roll keeps the quirk: the episode ends, and the bottom row reappears at the top.
        let mut rng = NumpyRandomState::new(0);
        let mut env = SpaceInvaders::new(true, &mut rng);
        env.alien_map = [[false; SIZE]; SIZE];
        env.alien_map[9][0] = true;
        env.alien_dir = -1;
        env.pos = 5;
        env.alien_move_timer = 0;
        assert_eq!(env.act(Action::Noop, &mut rng), (0, true));
        assert!(env.alien_map[0][0]);
        assert_eq!(env.alien_dir, 1);
    }
}
