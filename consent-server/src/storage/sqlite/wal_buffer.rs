//! A thin SQLite VFS over the default one that gathers a connection's
//! appends to its write-ahead log into one `pwrite` per commit (per 124 KiB
//! of it).
//!
//! SQLite writes each WAL frame with two calls: its 24-byte header, then
//! the page. A commit of 60 pages is 120 `pwrite`s, and on this host (a
//! nested virtual machine, where every entry into the kernel is paid for
//! again by the hypervisor) those calls cost the writer thread as much as
//! its `fsync`s. Here consecutive writes to the WAL are copied into
//! a buffer and reach the file in one call, at the latest when SQLite syncs
//! the WAL, which with `synchronous=FULL` it does at every commit, before
//! the commit is published to other connections (the wal-index is updated
//! after the sync). So the file holds the same bytes at every sync as it
//! would without the buffer, and a commit is as durable as before.
//!
//! Anything that could observe the file in between (a read, its size, a
//! truncation, a file control, closing) first writes the buffer out. Only
//! files SQLite opens as a WAL are wrapped; the database file and the
//! others get the default VFS's own methods. The connection that uses this
//! VFS must keep `synchronous=FULL` (the writer does): with a weaker
//! setting, commits would be published before the buffer is written.
//!
//! Hand-written because neither rusqlite nor a maintained crate offers a
//! write-gathering VFS; it is plain delegation to the default VFS.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections pass to use this VFS.
pub const NAME: &str = "keurmerk-wal";
const C_NAME: &CStr = c"keurmerk-wal";

/// Past this many buffered bytes the buffer is written out (bounds memory
/// for a large transaction; a commit of a few hundred frames fits).
const MAX_BUFFER: usize = 4 << 20;

/// The most one call to the default VFS's `xWrite` may carry: the unix VFS
/// keeps only the low 17 bits of a write's length (it never writes more than
/// a page at once itself), so a longer write must be cut. 124 KiB: the
/// largest multiple of 4 KiB below 128 KiB.
const MAX_WRITE: usize = 124 << 10;

/// The default VFS this one delegates to.
struct Real(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's VFS objects are immutable once registered and are used
// from any thread by design.
unsafe impl Send for Real {}
unsafe impl Sync for Real {}

static REAL: OnceLock<Result<Real, String>> = OnceLock::new();

/// A WAL file: SQLite's handle, the buffered run of bytes, and the default
/// VFS's own file object right after it (at [`real_offset`]).
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    /// File offset of `buf[0]`.
    start: i64,
    buf: Vec<u8>,
}

const fn real_offset() -> usize {
    std::mem::size_of::<WalFile>().next_multiple_of(16)
}

/// Registers the VFS (once per process); later calls return the first outcome.
pub fn register() -> Result<(), String> {
    REAL.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find initialises SQLite if needed and returns
        // the default VFS, which lives for the whole process. The copy we
        // register is leaked, so it lives as long.
        unsafe {
            let real = ffi::sqlite3_vfs_find(std::ptr::null());
            if real.is_null() {
                return Err("SQLite has no default VFS".to_owned());
            }
            let mut vfs = *real;
            vfs.pNext = std::ptr::null_mut();
            vfs.zName = C_NAME.as_ptr();
            vfs.szOsFile = (real_offset() + (*real).szOsFile as usize) as c_int;
            vfs.xOpen = Some(x_open);
            let rc = ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0);
            if rc != ffi::SQLITE_OK {
                return Err(format!("registering the WAL-buffering VFS failed (SQLite code {rc})"));
            }
            Ok(Real(real))
        }
    })
    .as_ref()
    .map(|_| ())
    .map_err(Clone::clone)
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    match REAL.get() {
        Some(Ok(r)) => r.0,
        _ => unreachable!("x_open is only reachable through the registered VFS"),
    }
}

unsafe fn real_file(f: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: SQLite allocated szOsFile bytes for `f`, so the default VFS's
    // file object fits at this offset.
    unsafe { f.cast::<u8>().add(real_offset()).cast() }
}

unsafe fn methods(f: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: set by the default VFS's xOpen, which succeeded.
    unsafe { &*(*f).pMethods }
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real = real_vfs();
    // SAFETY: `file` has room for the default VFS's file object (szOsFile
    // is larger than its own), and the arguments are passed on unchanged.
    unsafe {
        let open = (*real).xOpen.expect("the default VFS opens files");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Not a WAL: the default VFS's file object, methods and all.
            return open(real, name, file, flags, out_flags);
        }
        (*file).pMethods = std::ptr::null();
        let rc = open(real, name, real_file(file), flags, out_flags);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        std::ptr::addr_of_mut!((*file.cast::<WalFile>()).start).write(0);
        std::ptr::addr_of_mut!((*file.cast::<WalFile>()).buf).write(Vec::new());
        (*file).pMethods = &WAL_METHODS;
        rc
    }
}

/// Writes the buffered bytes to the file.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `file` is a WalFile opened by x_open.
    unsafe {
        let w = &mut *file.cast::<WalFile>();
        if w.buf.is_empty() {
            return ffi::SQLITE_OK;
        }
        let real = real_file(file);
        let write = methods(real).xWrite.expect("files are writable");
        let mut rc = ffi::SQLITE_OK;
        let mut offset = w.start;
        for chunk in w.buf.chunks(MAX_WRITE) {
            rc = write(real, chunk.as_ptr().cast(), chunk.len() as c_int, offset);
            if rc != ffi::SQLITE_OK {
                break;
            }
            offset += chunk.len() as i64;
        }
        w.buf.clear();
        rc
    }
}

unsafe extern "C" fn x_write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: `file` is a WalFile; `data` holds `amount` bytes (SQLite's contract).
    unsafe {
        let amount = amount as usize;
        let (start, len) = {
            let w = &*file.cast::<WalFile>();
            (w.start, w.buf.len())
        };
        let contiguous = len > 0 && offset == start + len as i64;
        if !contiguous || len + amount > MAX_BUFFER {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            (*file.cast::<WalFile>()).start = offset;
        }
        (*file.cast::<WalFile>())
            .buf
            .extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), amount));
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_read(file: *mut ffi::sqlite3_file, data: *mut c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: `file` is a WalFile; the read is passed on unchanged.
    unsafe {
        let w = &*file.cast::<WalFile>();
        let end = w.start + w.buf.len() as i64;
        if !w.buf.is_empty() && offset < end && offset + i64::from(amount) > w.start {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let real = real_file(file);
        methods(real).xRead.expect("files are readable")(real, data, amount, offset)
    }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: `file` is a WalFile; after this SQLite no longer uses it, so
    // the buffer is dropped in place.
    unsafe {
        let flushed = flush(file);
        let real = real_file(file);
        let closed = methods(real).xClose.expect("files close")(real);
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*file.cast::<WalFile>()).buf));
        if flushed != ffi::SQLITE_OK { flushed } else { closed }
    }
}

/// Methods that observe or change the file as a whole: buffer out first.
macro_rules! after_flush {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: `file` is a WalFile; the call is passed on unchanged.
            unsafe {
                let rc = flush(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                let real = real_file(file);
                methods(real).$field.expect("the default VFS implements this")(real $(, $arg)*)
            }
        }
    };
}

/// Methods that do not touch the file's bytes: passed on as they are.
macro_rules! passed_on {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: `file` is a WalFile; the call is passed on unchanged.
            unsafe {
                let real = real_file(file);
                methods(real).$field.expect("the default VFS implements this")(real $(, $arg)*)
            }
        }
    };
}

after_flush!(x_sync, xSync, (flags: c_int));
after_flush!(x_truncate, xTruncate, (size: i64));
after_flush!(x_file_size, xFileSize, (size: *mut i64));
after_flush!(x_file_control, xFileControl, (op: c_int, arg: *mut c_void));
passed_on!(x_lock, xLock, (level: c_int));
passed_on!(x_unlock, xUnlock, (level: c_int));
passed_on!(x_check_reserved_lock, xCheckReservedLock, (out: *mut c_int));
passed_on!(x_sector_size, xSectorSize, ());
passed_on!(x_device_characteristics, xDeviceCharacteristics, ());

/// Version 1: SQLite never maps or shares a WAL file through its own
/// handle (shared memory and mapping belong to the database file).
static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags, params};

    use super::*;

    /// A new database in a temporary directory, opened through this VFS
    /// as the writer opens it, with `schema` applied.
    fn buffered(schema: &str) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        register().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let conn = Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), NAME).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;")
            .unwrap();
        conn.execute_batch(schema).unwrap();
        (dir, path, conn)
    }

    /// A transaction far larger than the buffer and than one write of the
    /// default VFS, with a page cache so small that SQLite spills pages to
    /// the WAL mid-transaction and reads them back: the reads must see the
    /// buffered bytes, and another connection on the default VFS must see
    /// every committed row, before and after a checkpoint.
    #[test]
    fn large_transactions_and_reads_of_buffered_frames_are_exact() {
        let (_dir, path, conn) =
            buffered("PRAGMA cache_size=16; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        let row = |k: i64| -> Vec<u8> {
            (0..1500)
                .map(|i| (k as u8).wrapping_mul(31).wrapping_add(i as u8))
                .collect()
        };
        conn.execute_batch("BEGIN").unwrap();
        for k in 0..6000 {
            conn.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![k, row(k)])
                .unwrap();
        }
        // Read back inside the transaction: most pages were spilled.
        let mut check = conn.prepare("SELECT v FROM t WHERE k = ?1").unwrap();
        for k in (0..6000).step_by(97) {
            let v: Vec<u8> = check.query_row([k], |r| r.get(0)).unwrap();
            assert_eq!(v, row(k), "row {k} read back inside the transaction");
        }
        drop(check);
        conn.execute_batch("COMMIT").unwrap();
        // Small commits after the large one.
        for k in 6000..6100 {
            conn.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![k, row(k)])
                .unwrap();
        }

        let other = Connection::open(&path).unwrap();
        let verify = |c: &Connection| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(n, 6100);
            for k in (0..6100).step_by(89) {
                let v: Vec<u8> = c.query_row("SELECT v FROM t WHERE k = ?1", [k], |r| r.get(0)).unwrap();
                assert_eq!(v, row(k), "row {k}");
            }
            let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok");
        };
        verify(&other);
        let busy: i64 = other
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0);
        verify(&other);
        // The WAL starts over after the truncation; the buffered connection
        // writes to it again from its start.
        conn.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![7000, row(7000)])
            .unwrap();
        drop(conn);
        let n: i64 = other.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 6101);
    }

    /// A committed transaction is in the file when COMMIT returns, not
    /// only in the buffer: a copy of the files taken right then (what a
    /// crash leaves) holds it.
    #[test]
    fn a_commit_is_on_file_when_it_returns() {
        let (dir, _path, conn) = buffered("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);");
        conn.execute("INSERT INTO t (k, v) VALUES (1, 'kept')", []).unwrap();
        let copy = tempfile::tempdir().unwrap();
        for name in ["t.sqlite3", "t.sqlite3-wal"] {
            std::fs::copy(dir.path().join(name), copy.path().join(name)).unwrap();
        }
        let after_crash = Connection::open(copy.path().join("t.sqlite3")).unwrap();
        let v: String = after_crash
            .query_row("SELECT v FROM t WHERE k = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "kept");
    }
}
