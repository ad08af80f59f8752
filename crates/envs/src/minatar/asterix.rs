//! Asterix: the player moves freely (rows 1 to 8) while enemies and gold enter from the sides,
//! one per lane. +1 per gold picked up; touching an enemy ends the episode. A trail channel
//! gives each entity's direction. With difficulty ramping, entities spawn and move faster every
//! 100 frames or so. Port of MinAtar 1.0.15's `minatar/environments/asterix.py`.

use serde::{Deserialize, Serialize};

use super::{Action, Frame, GameLogic, NumpyRandomState};

// Channels, in the order of the Python `channels` dict.
const PLAYER: usize = 0;
const ENEMY: usize = 1;
const TRAIL: usize = 2;
const GOLD: usize = 3;

const RAMP_INTERVAL: i32 = 100;
const INIT_SPAWN_SPEED: i32 = 10;
const INIT_MOVE_INTERVAL: i32 = 5;
/// One entity slot per lane (rows 1 to 8).
const NUM_SLOTS: usize = 8;

/// Python's `[x, y, lr, is_gold]`; `lr` is true when moving right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entity {
    x: i32,
    y: i32,
    lr: bool,
    is_gold: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Asterix {
    ramping: bool,
    player_x: i32,
    player_y: i32,
    /// Python's `entities`: slot `i` holds the entity of row `i + 1`, or `None`.
    entities: [Option<Entity>; NUM_SLOTS],
    spawn_speed: i32,
    spawn_timer: i32,
    move_speed: i32,
    move_timer: i32,
    ramp_timer: i32,
    ramp_index: i32,
    terminal: bool,
}

impl Asterix {
    pub(super) fn new(ramping: bool, rng: &mut NumpyRandomState) -> Self {
        let mut env = Asterix {
            ramping,
            player_x: 0,
            player_y: 0,
            entities: [None; NUM_SLOTS],
            spawn_speed: 0,
            spawn_timer: 0,
            move_speed: 0,
            move_timer: 0,
            ramp_timer: 0,
            ramp_index: 0,
            terminal: false,
        };
        env.reset(rng);
        env
    }

    /// `_spawn_entity()`: an enemy or (1 in 3) gold at a random free slot, entering from a
    /// random side. The two coin draws are made even when every slot is taken; the slot draw
    /// (`randint(number of free slots)`) draws nothing when only one slot is free.
    fn spawn_entity(&mut self, rng: &mut NumpyRandomState) {
        let lr = rng.rand() < 1.0 / 2.0;
        let is_gold = rng.rand() < 1.0 / 3.0;
        let x = if lr { 0 } else { 9 };
        let mut slot_options = [0usize; NUM_SLOTS];
        let mut num_options = 0;
        for (i, entity) in self.entities.iter().enumerate() {
            if entity.is_none() {
                slot_options[num_options] = i;
                num_options += 1;
            }
        }
        if num_options == 0 {
            return;
        }
        let slot = slot_options[rng.randint(num_options as i64) as usize];
        self.entities[slot] = Some(Entity {
            x,
            y: slot as i32 + 1,
            lr,
            is_gold,
        });
    }

    /// An entity on the player's cell: gold is collected (+1), an enemy ends the episode.
    fn touch(&mut self, slot: usize, r: &mut i32) {
        if let Some(entity) = self.entities[slot] {
            if (entity.x, entity.y) == (self.player_x, self.player_y) {
                if entity.is_gold {
                    self.entities[slot] = None;
                    *r += 1;
                } else {
                    self.terminal = true;
                }
            }
        }
    }

    /// Ramp difficulty once `ramp_timer` has run out: faster spawns every time, faster moves
    /// every other time.
    fn ramp_difficulty(&mut self) {
        if self.ramping && (self.spawn_speed > 1 || self.move_speed > 1) {
            if self.ramp_timer >= 0 {
                self.ramp_timer -= 1;
            } else {
                if self.move_speed > 1 && self.ramp_index % 2 == 1 {
                    self.move_speed -= 1;
                }
                if self.spawn_speed > 1 {
                    self.spawn_speed -= 1;
                }
                self.ramp_index += 1;
                self.ramp_timer = RAMP_INTERVAL;
            }
        }
    }
}

impl GameLogic for Asterix {
    fn reset(&mut self, _rng: &mut NumpyRandomState) {
        self.player_x = 5;
        self.player_y = 5;
        self.entities = [None; NUM_SLOTS];
        self.spawn_speed = INIT_SPAWN_SPEED;
        self.spawn_timer = self.spawn_speed;
        self.move_speed = INIT_MOVE_INTERVAL;
        self.move_timer = self.move_speed;
        self.ramp_timer = RAMP_INTERVAL;
        self.ramp_index = 0;
        self.terminal = false;
    }

    fn act(&mut self, action: Action, rng: &mut NumpyRandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, self.terminal);
        }

        // Spawn enemy if timer is up
        if self.spawn_timer == 0 {
            self.spawn_entity(rng);
            self.spawn_timer = self.spawn_speed;
        }

        // Resolve player action
        match action {
            Action::Left => self.player_x = (self.player_x - 1).max(0),
            Action::Right => self.player_x = (self.player_x + 1).min(9),
            Action::Up => self.player_y = (self.player_y - 1).max(1),
            Action::Down => self.player_y = (self.player_y + 1).min(8),
            _ => {}
        }

        // Update entities
        for slot in 0..NUM_SLOTS {
            self.touch(slot, &mut r);
        }
        if self.move_timer == 0 {
            self.move_timer = self.move_speed;
            for slot in 0..NUM_SLOTS {
                if let Some(entity) = &mut self.entities[slot] {
                    entity.x += if entity.lr { 1 } else { -1 };
                    if entity.x < 0 || entity.x > 9 {
                        // Python still compares the off-screen cell with the player's: no match.
                        self.entities[slot] = None;
                    } else {
                        self.touch(slot, &mut r);
                    }
                }
            }
        }

        // Update various timers
        self.spawn_timer -= 1;
        self.move_timer -= 1;

        // Ramp difficulty if interval has elapsed
        self.ramp_difficulty();
        (r, self.terminal)
    }

    fn difficulty_ramp(&self) -> Option<i32> {
        Some(self.ramp_index)
    }

    fn render(&self, frame: &mut Frame) {
        frame.set(self.player_y, self.player_x, PLAYER);
        for entity in self.entities.iter().flatten() {
            let channel = if entity.is_gold { GOLD } else { ENEMY };
            frame.set(entity.y, entity.x, channel);
            let back_x = if entity.lr {
                entity.x - 1
            } else {
                entity.x + 1
            };
            if (0..=9).contains(&back_x) {
                frame.set(entity.y, back_x, TRAIL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python: moves keep speeding up (every other ramp) after spawns have reached their
    /// fastest, since the ramp runs while `spawn_speed > 1 or move_speed > 1`.
    #[test]
    fn moves_ramp_on_after_spawns_are_fastest() {
        let mut rng = NumpyRandomState::new(0);
        let mut env = Asterix::new(true, &mut rng);
        (
            env.spawn_speed,
            env.move_speed,
            env.ramp_index,
            env.ramp_timer,
        ) = (1, 3, 1, -1);
        env.ramp_difficulty();
        assert_eq!(
            (
                env.spawn_speed,
                env.move_speed,
                env.ramp_index,
                env.ramp_timer
            ),
            (1, 2, 2, RAMP_INTERVAL)
        );
        // Fastest at both: the ramp stops.
        (env.move_speed, env.ramp_timer) = (1, -1);
        env.ramp_difficulty();
        assert_eq!((env.ramp_index, env.ramp_timer), (2, -1));
        // Moves fastest, spawns not: spawns ramp on, moves stay at 1 (even on an odd ramp).
        (env.spawn_speed, env.ramp_index, env.ramp_timer) = (2, 3, -1);
        env.ramp_difficulty();
        assert_eq!((env.spawn_speed, env.move_speed, env.ramp_index), (1, 1, 4));
    }
}
