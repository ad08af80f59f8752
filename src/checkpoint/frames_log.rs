//! The replay's frames as a checkpoint keeps them: an append-only log, so a checkpoint writes
//! only the frames pushed since the last one (a 1M-frame Atari buffer is 7 GB; a step adds
//! 7 kB). Each record holds consecutive frame ids and the SHA-256 of its data. `state.bin`
//! names the log's generation and the byte length that counts: bytes past it (a write the
//! process died in) are cut off on resume. Once the log holds more than twice the live
//! frames, the next checkpoint starts a new generation holding only those, and the old one is
//! removed after `state.bin` names the new.

use super::Refused;
use crate::agent::replay::FrameStore;
use crate::env::ObsElem;
use crate::fault::Faulty;
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const RECORD_MAGIC: &[u8; 4] = b"FRMS";
const RECORD_HEADER: usize = 4 + 8 + 4 + 4 + 32;
/// Data bytes per record at most.
const RECORD_BYTES: usize = 8 << 20;

/// Which log, and how much of it, a checkpoint goes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogRef {
    pub generation: u32,
    /// Bytes of the log that count.
    pub bytes: u64,
    /// The first frame id not in the log.
    pub next_id: u64,
}

/// The frame log of one run's checkpoint folder.
#[derive(Debug)]
pub struct FramesLog {
    dir: PathBuf,
    at: LogRef,
}

fn path(dir: &Path, generation: u32) -> PathBuf {
    dir.join(format!("frames-{generation}.log"))
}

impl FramesLog {
    /// A log not written yet (its first checkpoint starts generation 0).
    pub fn new(dir: &Path) -> Self {
        FramesLog {
            dir: dir.to_owned(),
            at: LogRef::default(),
        }
    }

    /// Log the frames `store` gained since the last call — or, when the log has grown past
    /// twice the live frames (or has no file yet), a new generation with all of them.
    /// Returns what `state.bin` must name.
    pub fn append<E: ObsElem>(&mut self, store: &FrameStore<E>) -> Result<LogRef, StoreError> {
        let frame_bytes = store_frame_bytes(store);
        let live = store.len() as u64 * frame_bytes as u64;
        let fresh = !path(&self.dir, self.at.generation).exists();
        if fresh || self.at.bytes > 2 * live + RECORD_BYTES as u64 {
            let generation = if fresh {
                self.at.generation
            } else {
                self.at.generation + 1
            };
            let p = path(&self.dir, generation);
            let file = File::create(&p).map_err(|e| StoreError::io(&p, e))?;
            let start = LogRef {
                generation,
                bytes: 0,
                next_id: store.ids().start,
            };
            self.at = write_records(file, &p, start, store)?;
        } else {
            let p = path(&self.dir, self.at.generation);
            let file = OpenOptions::new()
                .append(true)
                .open(&p)
                .map_err(|e| StoreError::io(&p, e))?;
            self.at = write_records(file, &p, self.at, store)?;
        }
        Ok(self.at)
    }

    /// Remove every other generation (once `state.bin` names this one).
    pub fn remove_others(&self) -> Result<(), StoreError> {
        let keep = path(&self.dir, self.at.generation);
        for entry in std::fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))? {
            let p = entry.map_err(|e| StoreError::io(&self.dir, e))?.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let is_log = name.is_some_and(|n| n.starts_with("frames-") && n.ends_with(".log"));
            if is_log && p != keep {
                std::fs::remove_file(&p).map_err(|e| StoreError::io(&p, e))?;
            }
        }
        Ok(())
    }

    /// Refill `store` (deserialised without its frames) from the log `at` names, and cut off
    /// whatever the log holds past it. Every live frame must be there, each record intact.
    pub fn restore<E: ObsElem>(
        dir: &Path,
        at: LogRef,
        store: &mut FrameStore<E>,
    ) -> Result<Self, Refused> {
        let p = path(dir, at.generation);
        let corrupt = |why: String| Refused::Corrupt(p.clone(), why);
        let file = File::open(&p).map_err(|e| corrupt(e.to_string()))?;
        let len = file.metadata().map_err(|e| corrupt(e.to_string()))?.len();
        if len < at.bytes {
            return Err(corrupt(format!(
                "{len} bytes, the checkpoint needs {}",
                at.bytes
            )));
        }
        let restored = read_records(BufReader::new(file).take(at.bytes), store)
            .map_err(|e| corrupt(e.to_string()))?;
        if restored != store.len() {
            return Err(corrupt(format!(
                "{restored} of the replay's {} frames",
                store.len()
            )));
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| corrupt(e.to_string()))?;
        file.set_len(at.bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(FramesLog {
            dir: dir.to_owned(),
            at,
        })
    }
}

/// Bytes of one frame as logged.
fn store_frame_bytes<E: ObsElem>(store: &FrameStore<E>) -> usize {
    store.frame_len() * std::mem::size_of::<E>()
}

/// Append records of `store`'s frames from `at.next_id` on to `file`, then sync it.
fn write_records<E: ObsElem>(
    file: File,
    p: &Path,
    mut at: LogRef,
    store: &FrameStore<E>,
) -> Result<LogRef, StoreError> {
    let per_record = (RECORD_BYTES / store_frame_bytes(store).max(1)).max(1);
    let mut out = Faulty(BufWriter::with_capacity(1 << 20, &file), p);
    let mut data = Vec::with_capacity(RECORD_BYTES.min(per_record * store_frame_bytes(store)));
    let ids = at.next_id.max(store.ids().start)..store.ids().end;
    let mut first = ids.start;
    while first < ids.end {
        let count = (ids.end - first).min(per_record as u64);
        data.clear();
        for id in first..first + count {
            E::write_le(store.get(id), &mut data);
        }
        let io = |e| StoreError::io(p, e);
        out.write_all(RECORD_MAGIC).map_err(io)?;
        out.write_all(&first.to_le_bytes()).map_err(io)?;
        out.write_all(&(count as u32).to_le_bytes()).map_err(io)?;
        out.write_all(&(store_frame_bytes(store) as u32).to_le_bytes())
            .map_err(io)?;
        out.write_all(&Sha256::digest(&data)).map_err(io)?;
        out.write_all(&data).map_err(io)?;
        at.bytes += (RECORD_HEADER + data.len()) as u64;
        first += count;
    }
    out.flush().map_err(|e| StoreError::io(p, e))?;
    drop(out);
    file.sync_data().map_err(|e| StoreError::io(p, e))?;
    at.next_id = ids.end.max(at.next_id);
    Ok(at)
}

/// Put every record's live frames into `store`; returns how many were put back.
fn read_records<E: ObsElem>(mut r: impl Read, store: &mut FrameStore<E>) -> Result<usize, String> {
    let mut restored = 0;
    let mut header = [0u8; RECORD_HEADER];
    let mut frame = vec![E::default(); store.frame_len()];
    let mut data = Vec::new();
    loop {
        match r.read_exact(&mut header[..1]) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(restored),
            Err(e) => return Err(e.to_string()),
        }
        r.read_exact(&mut header[1..])
            .map_err(|e| format!("record header: {e}"))?;
        if &header[..4] != RECORD_MAGIC {
            return Err("not a frame record".into());
        }
        let first = u64::from_le_bytes(header[4..12].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes")) as usize;
        let bytes = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes")) as usize;
        if bytes != store_frame_bytes(store) {
            return Err(format!(
                "frames of {bytes} bytes, the replay's have {}",
                store_frame_bytes(store)
            ));
        }
        data.resize(count * bytes, 0);
        r.read_exact(&mut data)
            .map_err(|e| format!("record data: {e}"))?;
        if Sha256::digest(&data).as_slice() != &header[20..52] {
            return Err(format!("checksum mismatch in the record of frame {first}"));
        }
        for (i, chunk) in data.chunks_exact(bytes).enumerate() {
            let ok = E::read_le(chunk, &mut frame);
            if ok && store.restore_frame(first + i as u64, &frame) {
                restored += 1;
            }
        }
    }
}
