//! What ranks of a distributed run say to each other, and nothing more: rank, size,
//! all-gather, all-to-all, broadcast, barrier, abort. Two implementations will stand behind
//! it: MPI (a later stage, feature `distributed`) and [`InProcess`] — threads of one process
//! — which unit tests and a world of one use, so most of the distributed code is tested
//! without MPI.
//!
//! Sums are never left to the transport: [`ordered_sum`] all-gathers each rank's values and
//! adds them in rank order on every rank, so every replica holds the same bytes by
//! construction (MPI's float `SUM` fixes no order: docs/scale.md).

use std::sync::{Arc, Condvar, Mutex};

/// A collective failed: a peer gave up (or aborted), or ranks disagreed on a call's shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CollectiveError {
    #[error("rank {rank} aborted the run: {reason}")]
    Aborted { rank: usize, reason: String },
    #[error("ranks disagree in {call}: {detail}")]
    Mismatch { call: &'static str, detail: String },
}

/// The calls a distributed run makes. Every rank makes the same calls in the same order.
pub trait Collective {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Every rank's `mine`, in rank order (lengths may differ by rank).
    fn all_gather_f32(&self, mine: &[f32]) -> Result<Vec<Vec<f32>>, CollectiveError>;
    fn all_gather_u64(&self, mine: &[u64]) -> Result<Vec<Vec<u64>>, CollectiveError>;
    /// `to[r]` goes to rank r; returns what each rank sent this one, in rank order.
    fn all_to_all_f32(&self, to: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, CollectiveError>;
    /// Rank `root`'s bytes on every rank (`bytes` is read on the root only).
    fn broadcast(&self, root: usize, bytes: &[u8]) -> Result<Vec<u8>, CollectiveError>;
    fn barrier(&self) -> Result<(), CollectiveError>;
    /// Ends the run on every rank: their pending and later calls fail with `reason`.
    fn abort(&self, reason: &str);
}

/// The element-wise sum of every rank's `mine`, added in rank order (rank 0 first) in f32:
/// the same bytes on every rank, and the bytes one process gets adding the P vectors in that
/// order.
pub fn ordered_sum(comm: &dyn Collective, mine: &[f32]) -> Result<Vec<f32>, CollectiveError> {
    let all = comm.all_gather_f32(mine)?;
    if let Some((r, v)) = all.iter().enumerate().find(|(_, v)| v.len() != mine.len()) {
        return Err(CollectiveError::Mismatch {
            call: "ordered_sum",
            detail: format!("rank {r} has {} values, this rank {}", v.len(), mine.len()),
        });
    }
    let mut sum = all[0].clone();
    for v in &all[1..] {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    Ok(sum)
}

/// What one round of a collective carries from each rank.
#[derive(Clone, Debug)]
enum Payload {
    F32(Vec<f32>),
    U64(Vec<u64>),
    /// One vector per destination rank.
    Scatter(Vec<Vec<f32>>),
    Bytes(Vec<u8>),
    Nothing,
}

/// The rendezvous the threads of an [`InProcess`] world share.
struct Round {
    /// Each rank's contribution to the round in progress.
    slots: Vec<Option<(&'static str, Payload)>>,
    /// The finished round's contributions, read by every rank before the next one fills.
    done: Option<Vec<(&'static str, Payload)>>,
    /// Ranks that have read `done`.
    read: usize,
    generation: u64,
    aborted: Option<(usize, String)>,
}

struct World {
    size: usize,
    round: Mutex<Round>,
    changed: Condvar,
}

/// One rank of a world of threads in this process ([`InProcess::world`]).
#[derive(Clone)]
pub struct InProcess {
    rank: usize,
    world: Arc<World>,
}

impl InProcess {
    /// `size` ranks, one per thread: hand each its own.
    pub fn world(size: usize) -> Vec<InProcess> {
        let world = Arc::new(World {
            size,
            round: Mutex::new(Round {
                slots: vec![None; size],
                done: None,
                read: 0,
                generation: 0,
                aborted: None,
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| InProcess {
                rank,
                world: world.clone(),
            })
            .collect()
    }

    /// A world of one (no threads): every collective is the identity.
    pub fn single() -> InProcess {
        Self::world(1).remove(0)
    }

    /// Puts this rank's payload in and waits for every rank's: the round, in rank order.
    fn exchange(&self, call: &'static str, mine: Payload) -> Result<Vec<Payload>, CollectiveError> {
        let w = &self.world;
        let mut r = w.round.lock().unwrap_or_else(|p| p.into_inner());
        // (a rank ahead by one round waits for the others to read the last one)
        while r.done.is_some() && r.aborted.is_none() {
            r = w.changed.wait(r).unwrap_or_else(|p| p.into_inner());
        }
        aborted(&r)?;
        r.slots[self.rank] = Some((call, mine));
        let generation = r.generation;
        if r.slots.iter().all(Option::is_some) {
            r.done = Some(
                r.slots
                    .iter_mut()
                    .map(|s| s.take().expect("all in"))
                    .collect(),
            );
            r.generation += 1;
            w.changed.notify_all();
        }
        while r.generation == generation && r.aborted.is_none() {
            r = w.changed.wait(r).unwrap_or_else(|p| p.into_inner());
        }
        aborted(&r)?;
        let round = r.done.clone().expect("the round is done");
        r.read += 1;
        if r.read == w.size {
            (r.done, r.read) = (None, 0);
            w.changed.notify_all();
        }
        drop(r);
        let calls: Vec<&str> = round.iter().map(|(c, _)| *c).collect();
        if calls.iter().any(|c| *c != call) {
            return Err(CollectiveError::Mismatch {
                call,
                detail: format!("the ranks called {calls:?}"),
            });
        }
        Ok(round.into_iter().map(|(_, p)| p).collect())
    }
}

fn aborted(r: &Round) -> Result<(), CollectiveError> {
    match &r.aborted {
        Some((rank, reason)) => Err(CollectiveError::Aborted {
            rank: *rank,
            reason: reason.clone(),
        }),
        None => Ok(()),
    }
}

/// The payloads of one kind, or a mismatch naming the call.
fn unpack<T>(
    call: &'static str,
    round: Vec<Payload>,
    get: fn(Payload) -> Option<T>,
) -> Result<Vec<T>, CollectiveError> {
    round
        .into_iter()
        .map(get)
        .collect::<Option<Vec<T>>>()
        .ok_or(CollectiveError::Mismatch {
            call,
            detail: "payloads of different kinds".into(),
        })
}

impl Collective for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.world.size
    }

    fn all_gather_f32(&self, mine: &[f32]) -> Result<Vec<Vec<f32>>, CollectiveError> {
        let round = self.exchange("all_gather_f32", Payload::F32(mine.to_vec()))?;
        unpack("all_gather_f32", round, |p| match p {
            Payload::F32(v) => Some(v),
            _ => None,
        })
    }

    fn all_gather_u64(&self, mine: &[u64]) -> Result<Vec<Vec<u64>>, CollectiveError> {
        let round = self.exchange("all_gather_u64", Payload::U64(mine.to_vec()))?;
        unpack("all_gather_u64", round, |p| match p {
            Payload::U64(v) => Some(v),
            _ => None,
        })
    }

    fn all_to_all_f32(&self, to: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, CollectiveError> {
        if to.len() != self.size() {
            return Err(CollectiveError::Mismatch {
                call: "all_to_all_f32",
                detail: format!("{} destinations in a world of {}", to.len(), self.size()),
            });
        }
        let round = self.exchange("all_to_all_f32", Payload::Scatter(to.to_vec()))?;
        let sent = unpack("all_to_all_f32", round, |p| match p {
            Payload::Scatter(v) => Some(v),
            _ => None,
        })?;
        Ok(sent
            .into_iter()
            .map(|mut v| v.swap_remove(self.rank))
            .collect())
    }

    fn broadcast(&self, root: usize, bytes: &[u8]) -> Result<Vec<u8>, CollectiveError> {
        let mine = if self.rank == root {
            Payload::Bytes(bytes.to_vec())
        } else {
            Payload::Nothing
        };
        let mut round = self.exchange("broadcast", mine)?;
        let sent = (root < round.len()).then(|| round.swap_remove(root));
        match sent {
            Some(Payload::Bytes(b)) => Ok(b),
            _ => Err(CollectiveError::Mismatch {
                call: "broadcast",
                detail: format!("rank {root} sent nothing to broadcast"),
            }),
        }
    }

    fn barrier(&self) -> Result<(), CollectiveError> {
        self.exchange("barrier", Payload::Nothing).map(drop)
    }

    fn abort(&self, reason: &str) {
        let w = &self.world;
        let mut r = w.round.lock().unwrap_or_else(|p| p.into_inner());
        r.aborted.get_or_insert((self.rank, reason.to_string()));
        w.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on every rank of an in-process world of `size`, one thread each.
    fn on_ranks<T: Send>(size: usize, f: impl Fn(InProcess) -> T + Sync) -> Vec<T> {
        std::thread::scope(|s| {
            let handles: Vec<_> = InProcess::world(size)
                .into_iter()
                .map(|c| s.spawn(|| f(c)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn an_ordered_sum_is_the_rank_order_sum_on_every_rank() {
        // Values whose f32 sum depends on the order: 1e8 + 1 - 1e8 + ...
        let values = |r: usize| -> Vec<f32> {
            (0..1000)
                .map(|i| ((r * 7919 + i * 104_729) % 1013) as f32 * 1e5_f32.powi(r as i32 % 3 - 1))
                .collect()
        };
        for size in [1, 2, 3, 4] {
            let sums = on_ranks(size, |c| {
                let mut all = Vec::new();
                // (many rounds back to back: no rank may read another round's values)
                for _ in 0..50 {
                    all = ordered_sum(&c, &values(c.rank())).unwrap();
                }
                all
            });
            let mut want = values(0);
            for r in 1..size {
                for (w, x) in want.iter_mut().zip(values(r)) {
                    *w += x;
                }
            }
            for s in &sums {
                assert!(s.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }

    #[test]
    fn gathers_scatters_and_broadcasts_reach_every_rank_in_order() {
        let out = on_ranks(3, |c| {
            let r = c.rank();
            let g = c.all_gather_u64(&vec![r as u64; r + 1]).unwrap();
            let to: Vec<Vec<f32>> = (0..3).map(|d| vec![(10 * r + d) as f32]).collect();
            let got = c.all_to_all_f32(&to).unwrap();
            let b = c
                .broadcast(2, if r == 2 { b"from two" } else { b"" })
                .unwrap();
            c.barrier().unwrap();
            (g, got, b)
        });
        for (r, (g, got, b)) in out.into_iter().enumerate() {
            assert_eq!(g, vec![vec![0], vec![1, 1], vec![2, 2, 2]]);
            let want: Vec<Vec<f32>> = (0..3).map(|s| vec![(10 * s + r) as f32]).collect();
            assert_eq!(got, want);
            assert_eq!(b, b"from two");
        }
    }

    #[test]
    fn an_abort_or_a_mismatched_call_fails_every_rank_instead_of_hanging() {
        let out = on_ranks(3, |c| {
            if c.rank() == 1 {
                c.abort("rank 1 found a bad shard");
                return Err(CollectiveError::Aborted {
                    rank: 1,
                    reason: String::new(),
                });
            }
            c.barrier()
        });
        for (r, e) in out.iter().enumerate() {
            assert!(
                matches!(e, Err(CollectiveError::Aborted { rank: 1, .. })),
                "rank {r}: {e:?}"
            );
        }
        let out = on_ranks(2, |c| {
            if c.rank() == 0 {
                c.barrier()
            } else {
                c.all_gather_u64(&[1]).map(drop)
            }
        });
        assert!(
            out.iter()
                .all(|e| matches!(e, Err(CollectiveError::Mismatch { .. }))),
            "{out:?}"
        );
        let one = InProcess::single();
        assert_eq!(ordered_sum(&one, &[1.5, 2.5]).unwrap(), vec![1.5, 2.5]);
    }
}
