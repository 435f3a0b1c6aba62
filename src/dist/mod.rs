//! Training past one machine (issue "past one machine on MPI"; docs/scale.md): the
//! collective interface ranks talk through, with an in-process implementation, and the
//! partition of a graph into one shard per rank. Built in stages; what exists so far is
//! listed in docs/scale.md ("Stages").

pub mod collective;
pub mod shard;

pub use collective::{Collective, CollectiveError, InProcess, ordered_sum};
pub use shard::{Manifest, PartitionFiles, Shard, partition_graph};
