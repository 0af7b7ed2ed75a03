//! The Merkle tree of the proof log, exactly as RFC 9162 §2.1 (which keeps
//! RFC 6962's tree): SHA-256, leaf hash `H(0x00 ‖ leaf)`, node hash
//! `H(0x01 ‖ left ‖ right)`, the left subtree of `n` leaves holding the largest
//! power of two below `n`. Odd nodes are promoted, never duplicated.
//!
//! Proofs are *generated* over a [`SubtreeSource`]: anything that can answer
//! "the hash of the complete, aligned subtree at (level, index)". Storage keeps
//! those hashes (see [`crate::tile`]) so a proof for any leaf of any tree size
//! costs at most about `2·log2(n)` lookups and never the whole tree in memory.
//! Proofs are *verified* with the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms,
//! transcribed step by step, with the expected proof length checked first so
//! the error can say exactly what is wrong.
//!
//! Why not a crate: `ct-merkle` 0.3 keeps the whole tree in memory (no proof
//! generation over external storage); `tlog_tiles` 0.2 follows Go's sumdb
//! "stored hash index" layout and pulls base64 0.21 and thiserror 1 next to
//! the workspace's 0.22 and 2. The algorithms are short, and the tests below
//! pin them to the RFC 6962 / transparency-dev vectors and to a naive
//! recursive transcription of the RFC definitions.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// No tree of up to 2^64 leaves needs a longer inclusion or consistency proof;
/// parsers refuse anything longer before doing any work.
pub const MAX_PROOF_LEN: usize = 64;

/// `H(0x00 ‖ data)`: the hash of a leaf (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `H(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Hashes of complete, aligned subtrees: `subtree(level, index)` is the root of
/// leaves `index·2^level .. (index+1)·2^level`, a subtree that must lie wholly
/// inside the tree being proven. Level 0 is the leaf hashes themselves.
pub trait SubtreeSource {
    /// What reading a hash can fail with.
    type Error: std::error::Error + 'static;
    /// The root of complete subtree (`level`, `index`).
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E: std::error::Error + 'static> {
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The older tree's size.
        old: u64,
        /// The newer tree's size.
        new: u64,
    },
    /// The [`SubtreeSource`] failed.
    #[error("reading subtree hashes: {0}")]
    Source(#[source] E),
}

/// Why a proof did not verify. Each variant names one precise reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf's index is not inside the tree the proof is for.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf's index.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// The "old" tree is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The older tree's size.
        old: u64,
        /// The newer tree's size.
        new: u64,
    },
    /// The proof has more or fewer hashes than these sizes call for.
    #[error("proof has {got} hashes, but a proof for these sizes has exactly {expected}")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a proof for these sizes has.
        expected: usize,
    },
    /// The proof leads to another root than the (new) tree's.
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    /// A consistency proof leads to another root than the old tree's.
    #[error("proof does not lead to the old tree's root hash")]
    OldRootMismatch,
    /// Two trees of the same size with different roots: not the same log.
    #[error("trees of equal size must have equal roots")]
    EqualSizeDifferentRoots,
}

/// The largest power of two strictly below `n` (n ≥ 2): the size of the left
/// subtree in the RFC's split.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start .. start+len])` for a subtree of the RFC's shape. Complete
/// subtrees are one lookup; a right-edge subtree is folded from the complete
/// subtrees of its binary decomposition (one lookup per set bit of `len`).
fn range_hash<S: SubtreeSource>(src: &S, start: u64, len: u64) -> Result<Hash, S::Error> {
    if len.is_power_of_two() {
        let level = len.trailing_zeros();
        return src.subtree(level, start >> level);
    }
    // Decompose from the left: largest first, as the RFC's split would.
    let mut parts = Vec::with_capacity(len.count_ones() as usize);
    let (mut at, mut rest) = (start, len);
    while rest > 0 {
        let level = 63 - rest.leading_zeros();
        parts.push(src.subtree(level, at >> level)?);
        at += 1 << level;
        rest -= 1 << level;
    }
    let mut h = parts.pop().expect("len > 0");
    while let Some(left) = parts.pop() {
        h = node_hash(&left, &h);
    }
    Ok(h)
}

/// The root of the first `size` leaves.
pub fn root<S: SubtreeSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// `PATH(index, D[0:size])`: the audit path, leaf's sibling first.
pub fn inclusion_proof<S: SubtreeSource>(src: &S, index: u64, size: u64) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::with_capacity(64);
    path(src, index, 0, size, &mut out).map_err(ProveError::Source)?;
    Ok(out)
}

fn path<S: SubtreeSource>(src: &S, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    if n == 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, k, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        path(src, m - k, start + k, n - k, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

/// `PROOF(old, D[0:new])`: the consistency proof. Empty when `old` is 0 or
/// equals `new`, as the RFC defines.
pub fn consistency_proof<S: SubtreeSource>(src: &S, old: u64, new: u64) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if old > new {
        return Err(ProveError::SizeOrder { old, new });
    }
    let mut out = Vec::with_capacity(64);
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut out).map_err(ProveError::Source)?;
    }
    Ok(out)
}

fn subproof<S: SubtreeSource>(
    src: &S,
    m: u64,
    start: u64,
    n: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == n {
        if !whole {
            out.push(range_hash(src, start, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, k, whole, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        subproof(src, m - k, start + k, n - k, false, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

/// The length of the inclusion proof for `index` in a tree of `size`
/// (index < size): the levels below where the paths to `index` and to the
/// last leaf part, plus one hash per left-edge subtree above them.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is the leaf at `index` of the tree of
/// `size` leaves with root `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    if &root_from_inclusion(index, size, leaf, proof)? != root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// The RFC's loop, verbatim: returns the root the proof leads to (after
/// checking the proof's length for `index` and `size`).
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: inclusion_len(index, size),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected: inclusion_len(index, size),
        });
    }
    Ok(r)
}

/// The length of the consistency proof from `old` to `new` (0 < old < new).
fn consistency_len(old: u64, new: u64) -> usize {
    let full = inclusion_len(old - 1, new);
    let shift = old.trailing_zeros() as usize;
    // When `old` is a power of two its root is the first hash and is not sent.
    full - shift + usize::from(!old.is_power_of_two())
}

/// RFC 9162 §2.1.4.2: checks that the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizeOrder { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: 0,
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::EqualSizeDifferentRoots)
        };
    }
    if old == 0 {
        // Every tree extends the empty tree; the RFC sends no proof.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(VerifyError::WrongLength {
                got: proof.len(),
                expected: 0,
            })
        };
    }
    let expected = consistency_len(old, new);
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    // The RFC's steps 2-8, verbatim.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(VerifyError::WrongLength {
                got: proof.len(),
                expected,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    if &fr != old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if &sr != new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// A whole tree in memory, every level kept: for tests, tools and small logs.
/// The server never uses it for the real log (see [`crate::tile`]).
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` = complete subtree (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf by its leaf hash, completing every subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
            let n = self.levels[level].len();
            if n % 2 == 1 {
                break;
            }
            h = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            level += 1;
        }
    }

    /// The root hash of the whole tree.
    pub fn root(&self) -> Hash {
        root(self, self.size()).expect("memory never fails")
    }
}

/// Asked for a subtree the source does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("subtree (level {level}, index {index}) is not in the tree")]
pub struct MissingSubtree {
    /// The subtree's level (0: a leaf).
    pub level: u32,
    /// The subtree's index within its level.
    pub index: u64,
}

impl SubtreeSource for MemoryTree {
    type Error = MissingSubtree;
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, MissingSubtree> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(MissingSubtree { level, index })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The eight test leaves of transparency-dev/merkle `proof/verify_test.go`
    /// (and RFC 6962 test data).
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|s| hex::decode(s).unwrap())
        .collect()
    }

    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn tree(n: usize) -> MemoryTree {
        let mut t = MemoryTree::new();
        for l in leaves().iter().take(n) {
            t.push(leaf_hash(l));
        }
        t
    }

    #[test]
    fn hasher_known_answers() {
        // transparency-dev/merkle rfc6962/rfc6962_test.go
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        // HashChildren takes arbitrary byte strings (not 32-byte hashes): raw SHA-256.
        let mut raw = Sha256::new();
        raw.update([0x01]);
        raw.update(b"N123");
        raw.update(b"N456");
        let got: Hash = raw.finalize().into();
        assert_eq!(
            got,
            h("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
        );
    }

    #[test]
    fn roots_of_the_eight_test_leaves() {
        for (i, want) in ROOTS.iter().enumerate() {
            assert_eq!(tree(i + 1).root(), h(want), "size {}", i + 1);
        }
    }

    #[test]
    fn published_inclusion_and_consistency_examples() {
        let t = tree(8);
        let p = inclusion_proof(&t, 0, 8).unwrap();
        assert_eq!(
            p,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
        let c = consistency_proof(&t, 6, 8).unwrap();
        assert_eq!(
            c,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        verify_consistency(6, 8, &h(ROOTS[5]), &h(ROOTS[7]), &c).unwrap();
        // 2 -> 5 from the same file.
        let c = consistency_proof(&tree(5), 2, 5).unwrap();
        assert_eq!(
            c,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ]
        );
        verify_consistency(2, 5, &h(ROOTS[1]), &h(ROOTS[4]), &c).unwrap();
        for (m, n) in [(1, 8), (6, 7), (2, 5), (6, 8)] {
            let t = tree(n as usize);
            let c = consistency_proof(&t, m, n).unwrap();
            verify_consistency(m, n, &h(ROOTS[m as usize - 1]), &h(ROOTS[n as usize - 1]), &c).unwrap();
        }
        for (i, n) in [(0, 8), (5, 8), (2, 3), (1, 5)] {
            let t = tree(n as usize);
            let p = inclusion_proof(&t, i, n).unwrap();
            verify_inclusion(i, n, &leaf_hash(&leaves()[i as usize]), &p, &h(ROOTS[n as usize - 1])).unwrap();
        }
    }

    // ---- naive recursive transcription of RFC 9162 §2.1 ----

    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn hashes(n: usize, seed: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(seed.wrapping_mul(1_000_003) ^ i as u64).to_be_bytes()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn matches_naive_rfc_definitions(n in 1usize..400, seed: u64, a in 0usize..400, b in 0usize..400) {
            let d = hashes(n, seed);
            let mut t = MemoryTree::new();
            d.iter().for_each(|x| t.push(*x));
            prop_assert_eq!(t.root(), mth(&d));
            let m = a % n;
            let p = inclusion_proof(&t, m as u64, n as u64).unwrap();
            prop_assert_eq!(&p, &naive_path(m, &d));
            prop_assert!(verify_inclusion(m as u64, n as u64, &d[m], &p, &mth(&d)).is_ok());
            let old = b % (n + 1);
            let c = consistency_proof(&t, old as u64, n as u64).unwrap();
            let want = if old == 0 || old == n { vec![] } else { naive_subproof(old, &d, true) };
            prop_assert_eq!(&c, &want);
            prop_assert!(verify_consistency(old as u64, n as u64, &mth(&d[..old]), &mth(&d), &c).is_ok());
        }
    }

    /// Every size up to 300: every index and old size while n ≤ 100, every
    /// fifth beyond (debug builds hash slowly), against the naive definitions
    /// (generation, up to 64 leaves) and the verifier.
    #[test]
    fn every_size_up_to_300() {
        let d = hashes(300, 42);
        let mut t = MemoryTree::new();
        let mut roots = Vec::new();
        for n in 1..=d.len() {
            t.push(d[n - 1]);
            let r = mth(&d[..n]);
            assert_eq!(t.root(), r);
            roots.push(r);
            let step = if n <= 100 { 1 } else { 5 };
            for m in (0..n).step_by(step) {
                let p = inclusion_proof(&t, m as u64, n as u64).unwrap();
                if n <= 64 {
                    assert_eq!(p, naive_path(m, &d[..n]));
                }
                assert_eq!(verify_inclusion(m as u64, n as u64, &d[m], &p, &r), Ok(()));
            }
            for old in (1..n).step_by(step) {
                let c = consistency_proof(&t, old as u64, n as u64).unwrap();
                if n <= 64 {
                    assert_eq!(c, naive_subproof(old, &d[..n], true));
                }
                assert_eq!(
                    verify_consistency(old as u64, n as u64, &roots[old - 1], &r, &c),
                    Ok(())
                );
            }
        }
    }

    fn flip(p: &[Hash], i: usize, bit: u8) -> Vec<Hash> {
        let mut p = p.to_vec();
        p[i / 256][(i % 256) / 8] ^= 1 << (bit % 8);
        p
    }

    #[test]
    fn inclusion_negative_probes() {
        let d = hashes(37, 7);
        let mut t = MemoryTree::new();
        d.iter().for_each(|x| t.push(*x));
        let r = t.root();
        for n in [1u64, 2, 5, 8, 13, 32, 37] {
            let rn = mth(&d[..n as usize]);
            for m in 0..n {
                let p = inclusion_proof(&t, m, n).unwrap();
                let leaf = d[m as usize];
                let bad = |idx: u64, size: u64, proof: &[Hash], root: &Hash| {
                    verify_inclusion(idx, size, &leaf, proof, root).is_err()
                };
                assert!(bad(m + 1, n, &p, &rn), "index+1");
                if m > 0 {
                    assert!(bad(m - 1, n, &p, &rn), "index-1");
                }
                assert!(bad(m ^ 2, n, &p, &rn) || m ^ 2 == m, "index^2");
                assert!(bad(m, n * 2, &p, &rn), "size*2");
                if n / 2 > m && n > 1 {
                    assert!(bad(m, n / 2, &p, &rn), "size/2");
                }
                assert!(bad(m, n, &p, &r) || n == 37, "wrong root");
                assert!(bad(m, n, &p, &[0; 32]), "empty root");
                assert!(bad(m, n, &p, &empty_root()), "empty tree root");
                let mut longer = p.clone();
                longer.push([0xab; 32]);
                assert!(bad(m, n, &longer, &rn), "trailing garbage");
                let mut pre = vec![[0xab; 32]];
                pre.extend_from_slice(&p);
                assert!(bad(m, n, &pre, &rn), "preceding garbage");
                let mut app = p.clone();
                app.push(rn);
                assert!(bad(m, n, &app, &rn), "root appended");
                let mut prep = vec![rn];
                prep.extend_from_slice(&p);
                assert!(bad(m, n, &prep, &rn), "root prepended");
                for i in 0..p.len() {
                    let mut removed = p.clone();
                    removed.remove(i);
                    assert!(bad(m, n, &removed, &rn), "removed {i}");
                    let mut inserted = p.clone();
                    inserted.insert(i, [0x5a; 32]);
                    assert!(bad(m, n, &inserted, &rn), "inserted {i}");
                    for bit in [0u8, 3, 7] {
                        assert!(bad(m, n, &flip(&p, i * 256 + 8 * (i % 32), bit), &rn), "flip {i}");
                    }
                }
                let mut wrong_leaf = leaf;
                wrong_leaf[0] ^= 1;
                assert!(verify_inclusion(m, n, &wrong_leaf, &p, &rn).is_err());
            }
        }
    }

    #[test]
    fn consistency_negative_probes() {
        let d = hashes(40, 9);
        let mut t = MemoryTree::new();
        d.iter().for_each(|x| t.push(*x));
        for n in [2u64, 3, 7, 8, 16, 33, 40] {
            for m in 1..n {
                let (r1, r2) = (mth(&d[..m as usize]), mth(&d[..n as usize]));
                let c = consistency_proof(&t, m, n).unwrap();
                let bad = |m: u64, n: u64, a: &Hash, b: &Hash, p: &[Hash]| verify_consistency(m, n, a, b, p).is_err();
                assert!(!bad(m, n, &r1, &r2, &c));
                assert!(bad(m, n, &r2, &r1, &c), "swapped roots");
                assert!(bad(m + 1, n, &r1, &r2, &c) || m + 1 == n && c.is_empty(), "old+1");
                assert!(bad(m, n * 2, &r1, &r2, &c), "new*2");
                assert!(bad(m, n, &r1, &[1; 32], &c), "random new root");
                assert!(bad(m, n, &[1; 32], &r2, &c), "random old root");
                let mut longer = c.clone();
                longer.push([3; 32]);
                assert!(bad(m, n, &r1, &r2, &longer), "trailing garbage");
                let mut pre = vec![r1];
                pre.extend_from_slice(&c);
                assert!(bad(m, n, &r1, &r2, &pre), "old root prepended");
                for i in 0..c.len() {
                    let mut removed = c.clone();
                    removed.remove(i);
                    assert!(bad(m, n, &r1, &r2, &removed), "removed");
                    for bit in [0u8, 5] {
                        assert!(bad(m, n, &r1, &r2, &flip(&c, i * 256 + 8 * (i % 32), bit)), "flip");
                    }
                }
            }
        }
        assert_eq!(
            verify_consistency(5, 3, &[0; 32], &[0; 32], &[]),
            Err(VerifyError::SizeOrder { old: 5, new: 3 })
        );
        assert_eq!(
            verify_consistency(4, 4, &[0; 32], &[1; 32], &[]),
            Err(VerifyError::EqualSizeDifferentRoots)
        );
        assert!(verify_consistency(0, 4, &[0; 32], &[1; 32], &[]).is_ok());
        assert!(verify_consistency(0, 4, &[0; 32], &[1; 32], &[[0; 32]]).is_err());
    }

    #[test]
    fn proofs_touch_few_subtrees() {
        // Counts lookups: the design promise behind "≤ 2·log2(n) reads".
        struct Counting<'a>(&'a MemoryTree, std::cell::Cell<usize>);
        impl SubtreeSource for Counting<'_> {
            type Error = MissingSubtree;
            fn subtree(&self, level: u32, index: u64) -> Result<Hash, MissingSubtree> {
                self.1.set(self.1.get() + 1);
                self.0.subtree(level, index)
            }
        }
        let d = hashes(1000, 1);
        let mut t = MemoryTree::new();
        d.iter().for_each(|x| t.push(*x));
        let c = Counting(&t, Default::default());
        for m in (0..999).step_by(37) {
            c.1.set(0);
            inclusion_proof(&c, m, 999).unwrap();
            assert!(c.1.get() <= 2 * 10, "{} lookups", c.1.get());
        }
    }
}
