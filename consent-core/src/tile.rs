//! How the log's hashes are stored: tiles, as in C2SP `tlog-tiles`.
//!
//! A tile at tile-level `t` and index `i` holds up to 256 consecutive hashes of
//! complete subtrees at tree level `8·t`: entry `j` is subtree
//! `(8·t, 256·i + j)`. Level-0 tiles hold the leaf hashes. Only the hashes of
//! complete subtrees are ever stored, and a tile only ever grows by appending,
//! so a tile read for a newer tree size is still right for an older one.
//!
//! Any complete subtree `(L, k)` is hashed from at most 128 entries of one
//! tile (its tile level is `L / 8`), so an inclusion proof touches a handful
//! of tiles — a few indexed reads — whatever the log's size. Storing ~n hashes
//! for n leaves (plus 1/255 for the upper levels) keeps the store small.
//!
//! [`TileAppender`] is the integrator's pure half: it keeps only the
//! right-edge partial tiles (at most one per tile level), takes new leaf
//! hashes and says which tiles to write. The server persists them.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::merkle::{Hash, SubtreeSource, node_hash};

/// Tile height: 8 tree levels per tile, 256 hashes per full tile.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: usize = 1 << TILE_HEIGHT;

/// Reads stored tiles. A tile may hold more entries than needed (the log grew
/// since); fewer than needed is an error of the store.
pub trait TileSource {
    /// What reading a tile can fail with.
    type Error: std::error::Error + 'static;
    /// The stored hashes of tile (`level`, `index`); `None` if it was never written.
    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, Self::Error>;
    /// True for a source that only records reads ([`TileRecorder`]): hashes
    /// are then placeholders and need no computing.
    fn placeholder(&self) -> bool {
        false
    }
}

/// Why a subtree hash could not be read from tiles.
#[derive(Debug, thiserror::Error)]
pub enum TileError<E: std::error::Error + 'static> {
    /// A tile the tree needs is missing or holds too few hashes: the store
    /// lost or never wrote entries it checkpointed.
    #[error("tile (level {level}, index {index}) is missing or holds {have} hashes, {need} needed")]
    Short {
        /// The tile level.
        level: u32,
        /// The tile's index within its level.
        index: u64,
        /// Hashes the tile holds.
        have: usize,
        /// Hashes needed.
        need: usize,
    },
    /// The [`TileSource`] failed.
    #[error("reading tile: {0}")]
    Source(#[source] E),
}

/// A [`SubtreeSource`] over stored tiles, caching each tile it reads: one
/// value per request (proof), so a proof reads each tile at most once.
pub struct TiledTree<'a, S: TileSource> {
    source: &'a S,
    cache: RefCell<HashMap<(u32, u64), Vec<Hash>>>,
    reads: std::cell::Cell<usize>,
}

impl<'a, S: TileSource> TiledTree<'a, S> {
    /// A tree over `source`, with an empty cache.
    pub fn new(source: &'a S) -> Self {
        Self {
            source,
            cache: RefCell::default(),
            reads: Default::default(),
        }
    }

    /// How many tiles were read from the source so far.
    pub fn reads(&self) -> usize {
        self.reads.get()
    }
}

/// The root of `hashes` (a power of two many, all complete subtrees of one level).
fn fold_complete(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut layer = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    layer[0]
}

impl<S: TileSource> SubtreeSource for TiledTree<'_, S> {
    type Error = TileError<S::Error>;

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let tile_level = level / TILE_HEIGHT;
        let rest = level % TILE_HEIGHT;
        let first = index << rest;
        let count = 1usize << rest;
        let tile_index = first >> TILE_HEIGHT;
        let offset = (first as usize) & (TILE_WIDTH - 1);
        let mut cache = self.cache.borrow_mut();
        let key = (tile_level, tile_index);
        if self.source.placeholder() {
            if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(key) {
                self.reads.set(self.reads.get() + 1);
                self.source.tile(tile_level, tile_index).map_err(TileError::Source)?;
                e.insert(Vec::new());
            }
            return Ok([0; 32]);
        }
        let tile = match cache.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.reads.set(self.reads.get() + 1);
                let tile = self
                    .source
                    .tile(tile_level, tile_index)
                    .map_err(TileError::Source)?
                    .unwrap_or_default();
                e.insert(tile)
            }
        };
        if tile.len() < offset + count {
            return Err(TileError::Short {
                level: tile_level,
                index: tile_index,
                have: tile.len(),
                need: offset + count,
            });
        }
        Ok(fold_complete(&tile[offset..offset + count]))
    }
}

/// A tile to write: its place and its full current contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileWrite {
    /// The tile level.
    pub level: u32,
    /// The tile's index within its level.
    pub index: u64,
    /// Every hash the tile holds now (it replaces the stored tile).
    pub hashes: Vec<Hash>,
}

/// The integrator's right edge: the partial tile of each tile level.
#[derive(Clone, Debug, Default)]
pub struct TileAppender {
    size: u64,
    /// `edge[t]` = entries of the rightmost (partial) tile at tile level t.
    edge: Vec<Vec<Hash>>,
    /// Tiles changed since the last [`take_writes`](Self::take_writes).
    dirty: Vec<(u32, u64)>,
    /// Full tiles completed since the last take, with their contents.
    completed: Vec<TileWrite>,
}

/// The number of entries at tile level `t` for a tree of `size` leaves.
fn entries_at(size: u64, tile_level: u32) -> u64 {
    size.checked_shr(TILE_HEIGHT * tile_level).unwrap_or(0)
}

impl TileAppender {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes a log of `size` leaves, reading back its right-edge tiles.
    pub fn resume<S: TileSource>(size: u64, source: &S) -> Result<Self, TileError<S::Error>> {
        let mut edge = Vec::new();
        let mut t = 0;
        while entries_at(size, t) > 0 {
            let entries = entries_at(size, t);
            let width = (entries as usize) & (TILE_WIDTH - 1);
            let index = entries >> TILE_HEIGHT;
            let mut tile = if width == 0 {
                Vec::new()
            } else {
                source.tile(t, index).map_err(TileError::Source)?.unwrap_or_default()
            };
            if tile.len() < width {
                return Err(TileError::Short {
                    level: t,
                    index,
                    have: tile.len(),
                    need: width,
                });
            }
            // Entries past `size` (written but never checkpointed) are dropped:
            // the log resumes exactly at its last committed size.
            tile.truncate(width);
            edge.push(tile);
            t += 1;
        }
        Ok(Self {
            size,
            edge,
            dirty: Vec::new(),
            completed: Vec::new(),
        })
    }

    /// How many leaves were appended (or resumed) so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut t = 0u32;
        loop {
            if self.edge.len() == t as usize {
                self.edge.push(Vec::new());
            }
            let index = entries_at(self.size, t) >> TILE_HEIGHT;
            let tile = &mut self.edge[t as usize];
            tile.push(h);
            if tile.len() < TILE_WIDTH {
                if !self.dirty.contains(&(t, index)) {
                    self.dirty.push((t, index));
                }
                break;
            }
            // The tile is full: write it once, start the next, carry its root up.
            let full = std::mem::take(tile);
            h = fold_complete(&full);
            self.dirty.retain(|d| *d != (t, index));
            self.completed.push(TileWrite {
                level: t,
                index,
                hashes: full,
            });
            t += 1;
        }
        self.size += 1;
    }

    /// The tiles to persist since the last call: completed full tiles and the
    /// current contents of every partial tile that changed.
    pub fn take_writes(&mut self) -> Vec<TileWrite> {
        let mut out = std::mem::take(&mut self.completed);
        for (level, index) in std::mem::take(&mut self.dirty) {
            let tile = &self.edge[level as usize];
            // A partial tile recorded dirty may since have filled up and been
            // reset (it is then in `completed`); only write the live one.
            if entries_at(self.size, level) >> TILE_HEIGHT == index && !tile.is_empty() {
                out.push(TileWrite {
                    level,
                    index,
                    hashes: tile.clone(),
                });
            }
        }
        out
    }
}

/// The tiles of the right edge of a tree of `size` leaves: the only partial
/// ones, which [`TileAppender::resume`] needs back.
pub fn edge_tiles(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut t = 0;
    while entries_at(size, t) > 0 {
        let entries = entries_at(size, t);
        if entries as usize & (TILE_WIDTH - 1) != 0 {
            out.push((t, entries >> TILE_HEIGHT));
        }
        t += 1;
    }
    out
}

/// Which tiles a proof computation reads, found by running it once over
/// placeholder tiles (the proof algorithms' reads depend only on sizes and
/// indexes, never on hash values). Lets an async store fetch them all in
/// one round trip, then run the computation for real over [`MemoryTiles`].
pub fn tiles_read_by<T>(compute: impl FnOnce(&TiledTree<'_, TileRecorder>) -> T) -> Vec<(u32, u64)> {
    let recorder = TileRecorder::default();
    let tree = TiledTree::new(&recorder);
    let _ = compute(&tree);
    recorder.0.into_inner().into_iter().collect()
}

/// Notes every tile read; the tree over it computes nothing.
#[derive(Default)]
pub struct TileRecorder(RefCell<std::collections::BTreeSet<(u32, u64)>>);

impl TileSource for TileRecorder {
    type Error = std::convert::Infallible;
    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, Self::Error> {
        self.0.borrow_mut().insert((level, index));
        Ok(None)
    }
    fn placeholder(&self) -> bool {
        true
    }
}

/// The appender's right edge holds every subtree the current root is made
/// of, so the root needs no storage read.
impl TileSource for TileAppender {
    type Error = std::convert::Infallible;
    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, Self::Error> {
        let live = (level as usize) < self.edge.len() && entries_at(self.size, level) >> TILE_HEIGHT == index;
        Ok(live.then(|| self.edge[level as usize].clone()))
    }
}

impl TileAppender {
    /// The root of the tree appended so far.
    pub fn root(&self) -> Hash {
        crate::merkle::root(&TiledTree::new(self), self.size).expect("the edge holds the root's subtrees")
    }
}

/// Tiles in memory: for tests and for the benchmark's baseline.
#[derive(Clone, Debug, Default)]
pub struct MemoryTiles(pub HashMap<(u32, u64), Vec<Hash>>);

impl MemoryTiles {
    /// Stores the tiles [`TileAppender::take_writes`] returned.
    pub fn apply(&mut self, writes: Vec<TileWrite>) {
        for w in writes {
            self.0.insert((w.level, w.index), w.hashes);
        }
    }
}

impl TileSource for MemoryTiles {
    type Error = std::convert::Infallible;
    fn tile(&self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, Self::Error> {
        Ok(self.0.get(&(level, index)).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root, verify_inclusion};

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_le_bytes())
    }

    #[test]
    fn tiled_proofs_equal_memory_proofs_across_tile_boundaries() {
        let mut mem = MemoryTree::new();
        let mut tiles = MemoryTiles::default();
        let mut app = TileAppender::new();
        let sizes = [1u64, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_001];
        let mut n = 0;
        for &target in &sizes {
            while n < target {
                mem.push(leaf(n));
                app.push(leaf(n));
                n += 1;
            }
            // Write in irregular batches, as the integrator would.
            tiles.apply(app.take_writes());
            let tree = TiledTree::new(&tiles);
            assert_eq!(root(&tree, n).unwrap(), mem.root(), "root at {n}");
            for m in [0, n / 3, n / 2, n - 1] {
                let p = inclusion_proof(&tree, m, n).unwrap();
                assert_eq!(p, inclusion_proof(&mem, m, n).unwrap());
                verify_inclusion(m, n, &leaf(m), &p, &mem.root()).unwrap();
            }
            for old in [1, n / 2, n.saturating_sub(1)] {
                if old >= 1 && old <= n {
                    assert_eq!(
                        consistency_proof(&tree, old, n).unwrap(),
                        consistency_proof(&mem, old, n).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn proof_reads_few_tiles() {
        let mut tiles = MemoryTiles::default();
        let mut app = TileAppender::new();
        let n = 140_000u64;
        for i in 0..n {
            app.push(leaf(i));
            if i % 1000 == 0 {
                tiles.apply(app.take_writes());
            }
        }
        tiles.apply(app.take_writes());
        for m in [0, 12_345, 139_999] {
            let tree = TiledTree::new(&tiles);
            inclusion_proof(&tree, m, n).unwrap();
            // 3 tile levels; each level's siblings sit in ≤ 2 tiles (own and right edge).
            assert!(tree.reads() <= 6, "{} reads", tree.reads());
        }
    }

    #[test]
    fn appender_root_and_recorded_reads() {
        let mut mem = MemoryTree::new();
        let mut app = TileAppender::new();
        let mut tiles = MemoryTiles::default();
        for i in 0..70_000u64 {
            mem.push(leaf(i));
            app.push(leaf(i));
            if [1, 255, 256, 257, 65_535, 65_536, 69_999].contains(&i) {
                assert_eq!(app.root(), mem.root(), "root at {}", i + 1);
            }
        }
        tiles.apply(app.take_writes());
        let n = app.size();
        let needed = tiles_read_by(|t| inclusion_proof(t, 12_345, n).unwrap());
        let mut subset = MemoryTiles::default();
        for k in &needed {
            subset.0.insert(*k, tiles.0[k].clone());
        }
        assert!(needed.len() <= 6, "{needed:?}");
        assert_eq!(
            inclusion_proof(&TiledTree::new(&subset), 12_345, n).unwrap(),
            inclusion_proof(&mem, 12_345, n).unwrap()
        );
        let needed = tiles_read_by(|t| consistency_proof(t, 300, n).unwrap());
        let mut subset = MemoryTiles::default();
        for k in &needed {
            subset.0.insert(*k, tiles.0[k].clone());
        }
        assert_eq!(
            consistency_proof(&TiledTree::new(&subset), 300, n).unwrap(),
            consistency_proof(&mem, 300, n).unwrap()
        );
        let edge = edge_tiles(n);
        let mut subset = MemoryTiles::default();
        for k in &edge {
            subset.0.insert(*k, tiles.0[k].clone());
        }
        assert_eq!(TileAppender::resume(n, &subset).unwrap().root(), mem.root());
    }

    #[test]
    fn resume_continues_exactly() {
        let mut tiles = MemoryTiles::default();
        let mut app = TileAppender::new();
        for i in 0..70_000 {
            app.push(leaf(i));
        }
        tiles.apply(app.take_writes());
        // Entries beyond the committed size (a crash after writing tiles but
        // before the checkpoint) are dropped on resume.
        let mut resumed = TileAppender::resume(66_000, &tiles).unwrap();
        let mut mem = MemoryTree::new();
        for i in 0..66_000 {
            mem.push(leaf(i));
        }
        for i in 66_000..70_300 {
            resumed.push(leaf(i + 1_000_000));
            mem.push(leaf(i + 1_000_000));
        }
        tiles.apply(resumed.take_writes());
        assert_eq!(root(&TiledTree::new(&tiles), 70_300).unwrap(), mem.root());
        assert!(matches!(
            TileAppender::resume(80_000, &MemoryTiles::default()),
            Err(TileError::Short { .. })
        ));
    }
}
