//! The consent ids the SQLite store issues to new visitors, and the key of
//! each visitor's row.
//!
//! Why the store issues them: the visitors table is a B-tree keyed by
//! (site, key). With a random consent id as the key, every new visitor lands
//! on a random page, and every page a commit changes costs a whole page in
//! the WAL and again when the checkpoint copies it back: most of the writer's
//! and the checkpointer's work (measured: see docs/benchmarks.md, storage
//! measurements).
//! So the store numbers its new visitors 1, 2, 3, … (one counter for all
//! sites), keys their rows by that number, and issues as the consent id the
//! number encrypted with AES-128 under a key of its own, kept in the
//! database. AES under a secret key is a permutation of 128-bit blocks that
//! nobody without the key can tell from a random one, which is how the
//! standard DRBGs make random bits too (CTR_DRBG is AES over a counter): the
//! id is 128 bits that look random to the visitor, the site and anyone else,
//! are not derived from anything about the device, and do not reveal the
//! order they were issued in. New rows are appended, and the store finds a
//! row by decrypting the id.
//!
//! Ids that do not decrypt to one of ours (those drawn at random before
//! schema version 3, or given by a caller of the storage API) keep their own
//! text as the row key, as before.

use std::sync::atomic::{AtomicU64, Ordering};

use aes::Aes128;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use consent_core::ConsentId;
use consent_core::store::StoreError;
use rand::RngCore as _;
use rusqlite::{Connection, OptionalExtension, params};

use super::sql;

/// The first 8 bytes of every block the store encrypts. A block that
/// decrypts to anything else was not issued under this key (the chance that
/// a random id does is 2⁻⁶⁴).
const TAG: [u8; 8] = *b"keurmerk";

/// The row key of an issued id: this prefix (above every hex digit, so these
/// keys sort after the older ids' keys) and the number in 16 hex digits, so
/// that text order is number order and new rows go to the end of the site's
/// range.
const PREFIX: char = '~';

/// The `meta` row holding the AES key.
const KEY_NAME: &str = "consent_id_key";

/// Issues consent ids and maps them back to row keys.
pub struct Issuer {
    cipher: Aes128,
    next: AtomicU64,
}

impl Issuer {
    fn new(key: [u8; 16], next: u64) -> Self {
        Self {
            cipher: Aes128::new(&key.into()),
            next: AtomicU64::new(next),
        }
    }

    /// Loads the store's key (creating it on first use) and continues the
    /// numbering after the highest number any site's visitors have.
    pub fn load(conn: &Connection) -> Result<Self, StoreError> {
        let key = key(conn)?;
        // Each site's highest key, one index lookup per site: the sites are
        // walked through the primary key (site, visitor_key) itself, so that
        // visitors of a site without a `sites` row count too.
        let highest: Option<String> = sql(conn.query_row(
            "WITH RECURSIVE s(site) AS (
                 SELECT MIN(site) FROM visitors
                 UNION ALL
                 SELECT (SELECT MIN(site) FROM visitors WHERE site > s.site) FROM s WHERE s.site IS NOT NULL
             )
             SELECT MAX((SELECT MAX(v.visitor_key) FROM visitors v WHERE v.site = s.site AND v.visitor_key >= ?1))
             FROM s WHERE s.site IS NOT NULL",
            params![PREFIX.to_string()],
            |r| r.get(0),
        ))?;
        let highest = highest.as_deref().and_then(number_of_key).unwrap_or(0);
        Ok(Self::new(key, highest + 1))
    }

    /// A new visitor's consent id. A number whose decision is then not
    /// recorded was never given to anyone; after a restart the numbering goes
    /// on after the highest recorded one, so it may be issued again.
    pub fn issue(&self) -> ConsentId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&TAG);
        block[8..].copy_from_slice(&n.to_be_bytes());
        let mut block = block.into();
        self.cipher.encrypt_block(&mut block);
        ConsentId::from_random(block.into())
    }

    /// The number `id` was issued with, if this store issued it.
    fn number(&self, id: &ConsentId) -> Option<u64> {
        let mut block = [0u8; 16];
        hex::decode_to_slice(id.as_str(), &mut block).ok()?;
        let b = (&mut block).into();
        self.cipher.decrypt_block(b);
        if block[..8] != TAG {
            return None;
        }
        Some(u64::from_be_bytes(block[8..].try_into().ok()?))
    }

    /// The key of the visitor's row in `visitors`.
    pub fn row_key(&self, id: &ConsentId) -> String {
        match self.number(id) {
            Some(n) => format!("{PREFIX}{n:016x}"),
            None => id.as_str().to_owned(),
        }
    }
}

/// The row key of `id` for code that has only a connection to the database
/// (erasure, in the log's storage).
pub fn row_key(conn: &Connection, id: &ConsentId) -> Result<String, StoreError> {
    Ok(Issuer::new(key(conn)?, 0).row_key(id))
}

fn number_of_key(key: &str) -> Option<u64> {
    u64::from_str_radix(key.strip_prefix(PREFIX)?, 16).ok()
}

/// The AES key, created with the first connection that asks.
fn key(conn: &Connection) -> Result<[u8; 16], StoreError> {
    let read = |conn: &Connection| -> Result<Option<Vec<u8>>, StoreError> {
        sql(conn
            .query_row("SELECT value FROM meta WHERE name = ?1", params![KEY_NAME], |r| {
                r.get(0)
            })
            .optional())
    };
    let value = match read(conn)? {
        Some(v) => v,
        None => {
            let mut fresh = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut fresh);
            // Two connections may race here: the first insert wins and both read it back.
            sql(conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
                params![KEY_NAME, &fresh[..]],
            ))?;
            read(conn)?.ok_or_else(|| crate::storage::corrupt_because("the consent id key vanished"))?
        }
    };
    value
        .try_into()
        .map_err(|_| crate::storage::corrupt_because("the consent id key is not 16 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer::new([7; 16], 1)
    }

    #[test]
    fn issued_ids_are_distinct_and_map_back_to_their_numbers() {
        let ids = issuer();
        let issued: Vec<_> = (0..1000).map(|_| ids.issue()).collect();
        let distinct: std::collections::HashSet<_> = issued.iter().map(ConsentId::as_str).collect();
        assert_eq!(distinct.len(), issued.len());
        for (i, id) in issued.iter().enumerate() {
            assert!(
                ConsentId::parse(id.as_str()).is_ok(),
                "{id} is a well-formed consent id"
            );
            assert_eq!(ids.row_key(id), format!("~{:016x}", i + 1));
        }
    }

    #[test]
    fn consecutive_ids_share_no_visible_structure() {
        // A counter shows in its low digits; an encrypted one must not.
        let ids = issuer();
        let a = ids.issue();
        let b = ids.issue();
        let same = a
            .as_str()
            .bytes()
            .zip(b.as_str().bytes())
            .filter(|(x, y)| x == y)
            .count();
        assert!(same < 12, "{a} and {b} share {same} of 32 hex digits");
    }

    #[test]
    fn ids_not_issued_under_the_key_are_their_own_row_key() {
        let random = ConsentId::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(issuer().row_key(&random), random.as_str());
        // Another store's ids (another key) are not this store's numbers.
        let other = Issuer::new([8; 16], 1).issue();
        assert_eq!(issuer().row_key(&other), other.as_str());
    }

    #[test]
    fn row_keys_sort_in_number_order_and_after_older_ids() {
        let ids = Issuer::new([7; 16], 0xff);
        let (a, b) = (ids.issue(), ids.issue());
        let (ka, kb) = (ids.row_key(&a), ids.row_key(&b));
        assert!(ka < kb, "{ka} < {kb}");
        assert!("ffffffffffffffffffffffffffffffff" < ka.as_str());
        assert_eq!(number_of_key(&kb), Some(0x100));
    }
}
