//! Streaming MRT record reader (RFC 6396 §2–§3).
//!
//! [`MrtReader`] reads one record at a time from any [`std::io::Read`] into
//! a buffer it reuses, so a steady stream of records costs no allocation
//! once the buffer has grown to the largest record. Records above
//! [`MAX_RECORD_LEN`] are rejected before anything is allocated. Every
//! error carries the stream offset of the record it concerns.
//!
//! Recovery is chosen with [`Recovery`]: stop at the first framing error
//! (the default), or scan forward for the next plausible header.

use std::io::{ErrorKind, Read};

use super::header::{CommonHeader, HEADER_LEN};
use super::{Body, MrtError, mrt_type, table_dump};

/// Largest record length accepted by default: 16 MiB. A larger Length field
/// is reported as [`MrtError::Oversized`] without allocating.
pub const MAX_RECORD_LEN: u32 = 16 * 1024 * 1024;

/// How far apart two consecutive timestamps may be for a header found while
/// resyncing to count as plausible (seconds): one week.
const RESYNC_TIME_WINDOW: u32 = 7 * 24 * 3600;

/// What the reader does after a framing error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recovery {
    /// Report the error and end the stream (every later call returns
    /// `Ok(None)`).
    #[default]
    Stop,
    /// Report the error, then scan forward byte by byte for the next
    /// plausible header (known type, subtype below 256, length within the
    /// bound, timestamp within a week of the last good record). In this
    /// mode a header of an unknown type is itself reported as
    /// [`MrtError::BadHeader`] and skipped.
    Resync,
}

/// Counters kept by the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReaderStats {
    /// Records returned.
    pub records: u64,
    /// Bytes consumed from the input (bytes).
    pub bytes: u64,
    /// TABLE_DUMP records whose Length field was 4 bytes short and was
    /// corrected (see [`Record::length_corrected`]).
    pub length_corrections: u64,
    /// Successful resyncs.
    pub resyncs: u64,
    /// Bytes skipped while resyncing (bytes).
    pub skipped_bytes: u64,
}

/// One framed record, borrowing the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Stream offset of the common header (bytes).
    pub offset: u64,
    /// The common header.
    pub header: CommonHeader,
    /// The message body (after the microsecond field for `_ET` types).
    pub body: &'a [u8],
    /// True when this TABLE_DUMP record declared a Length 4 bytes shorter
    /// than what it holds and the reader took 4 more bytes. Early RIPE RIS
    /// dumps (e.g. rrc00 bview.20000111.0032) were written this way; the
    /// correction is made only when the entries walked from the body end
    /// exactly 4 bytes past the declared end, as bgpkit-parser does.
    pub length_corrected: bool,
}

impl<'a> Record<'a> {
    /// Stream offset of the first body byte.
    #[must_use]
    pub const fn body_offset(&self) -> u64 {
        let et = if self.header.is_extended() { 4 } else { 0 };
        self.offset + HEADER_LEN as u64 + et
    }

    /// Decodes the body according to the header's type and subtype.
    ///
    /// # Errors
    /// A [`MrtError`] at the offset of the malformed field.
    pub fn decode(&self) -> Result<Body<'a>, MrtError> {
        let base = self.body_offset();
        let (t, s, body) = (self.header.mrt_type, self.header.subtype, self.body);
        match t {
            mrt_type::TABLE_DUMP_V2 => super::table_dump_v2::decode(s, body, base),
            mrt_type::TABLE_DUMP => {
                super::table_dump::TableDump::decode(s, body, base).map(Body::TableDump)
            }
            mrt_type::BGP4MP | mrt_type::BGP4MP_ET => super::bgp4mp::decode(s, body, base),
            mrt_type::BGP => super::legacy::LegacyBgp::decode(s, body, base).map(Body::Legacy),
            _ => Ok(Body::Unknown(body)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Scan from this window (the 12 bytes ending at the current offset).
    Resync([u8; HEADER_LEN]),
    Done,
}

/// A streaming MRT reader with a reusable record buffer.
#[derive(Debug)]
pub struct MrtReader<R> {
    inner: R,
    buf: Vec<u8>,
    offset: u64,
    recovery: Recovery,
    max_len: u32,
    state: State,
    stats: ReaderStats,
    last_timestamp: Option<u32>,
    /// A header found by resync, to be used by the next call.
    pending: Option<[u8; HEADER_LEN]>,
}

/// Reads until `dst` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(inner: &mut R, dst: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = dst.get_mut(n..).filter(|r| !r.is_empty()) {
        match inner.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> MrtReader<R> {
    /// A reader over `inner` with [`Recovery::Stop`] and the 16 MiB bound.
    /// Wrap unbuffered inputs in a `BufReader`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            offset: 0,
            recovery: Recovery::Stop,
            max_len: MAX_RECORD_LEN,
            state: State::Running,
            stats: ReaderStats::default(),
            last_timestamp: None,
            pending: None,
        }
    }

    /// Sets the recovery mode.
    #[must_use]
    pub const fn with_recovery(mut self, recovery: Recovery) -> Self {
        self.recovery = recovery;
        self
    }

    /// Sets the record length bound (bytes).
    #[must_use]
    pub const fn with_max_len(mut self, max_len: u32) -> Self {
        self.max_len = max_len;
        self
    }

    /// Bytes consumed from the input so far.
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Counters so far.
    #[must_use]
    pub const fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// The wrapped input.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Asks the next [`next_record`](Self::next_record) to scan for a
    /// plausible header from the current offset instead of trusting the
    /// bytes there. Call it after a record framed fine but its body failed
    /// to decode in a way that suggests a wrong Length (damaged boundary).
    /// Has no effect once the stream has ended.
    pub fn request_resync(&mut self) {
        if self.state != State::Running {
            return;
        }
        let mut w = [0u8; HEADER_LEN];
        match read_full(&mut self.inner, &mut w) {
            Ok(HEADER_LEN) => {
                self.offset += HEADER_LEN as u64;
                self.state = State::Resync(w);
            }
            Ok(n) => {
                self.offset += n as u64;
                self.state = State::Done;
            }
            Err(_) => self.state = State::Done,
        }
    }

    /// Reads the next record. `Ok(None)` at the clean end of input (and
    /// after a fatal error). After an `Err`, the reader stops or resyncs
    /// according to its [`Recovery`]; calling again is always safe.
    ///
    /// # Errors
    /// [`MrtError::TruncatedRecord`] for a record cut short by the end of
    /// input, [`MrtError::Oversized`], [`MrtError::BadHeader`] and
    /// [`MrtError::ResyncFailed`] (resync mode), [`MrtError::Io`].
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, MrtError> {
        let hb = match self.state {
            State::Done => return Ok(None),
            State::Resync(w) => {
                self.state = State::Running;
                match self.scan(w)? {
                    Some(h) => h,
                    None => return Ok(None),
                }
            }
            State::Running => match self.pending.take() {
                Some(h) => h,
                None => match self.read_header()? {
                    Some(h) => h,
                    None => return Ok(None),
                },
            },
        };
        let start = self.offset - HEADER_LEN as u64;
        let header = CommonHeader::decode(hb);
        self.check_header(start, &header, hb)?;
        let (header, corrected) = self.read_body(start, header)?;
        self.stats.records += 1;
        self.stats.bytes = self.offset;
        self.stats.length_corrections += u64::from(corrected);
        self.last_timestamp = Some(header.timestamp);
        Ok(Some(Record {
            offset: start,
            header,
            body: &self.buf,
            length_corrected: corrected,
        }))
    }

    fn read_header(&mut self) -> Result<Option<[u8; HEADER_LEN]>, MrtError> {
        let start = self.offset;
        let mut hb = [0u8; HEADER_LEN];
        let n = read_full(&mut self.inner, &mut hb).map_err(|e| self.fatal_io(&e))?;
        self.offset += n as u64;
        match n {
            0 => {
                self.state = State::Done;
                Ok(None)
            }
            HEADER_LEN => Ok(Some(hb)),
            _ => {
                self.state = State::Done;
                Err(MrtError::TruncatedRecord {
                    offset: start,
                    needed: HEADER_LEN as u64,
                    available: n as u64,
                })
            }
        }
    }

    fn fatal_io(&mut self, e: &std::io::Error) -> MrtError {
        self.state = State::Done;
        MrtError::io(self.offset, e)
    }

    /// Rejects oversized (and, in resync mode, implausible) headers.
    fn check_header(
        &mut self,
        start: u64,
        h: &CommonHeader,
        hb: [u8; HEADER_LEN],
    ) -> Result<(), MrtError> {
        let err = if h.length > self.max_len {
            MrtError::Oversized {
                offset: start,
                length: h.length,
                max: self.max_len,
            }
        } else if self.recovery == Recovery::Resync && !self.plausible(h) {
            MrtError::BadHeader {
                offset: start,
                mrt_type: h.mrt_type,
                subtype: h.subtype,
                length: h.length,
            }
        } else if h.is_extended() && h.length < 4 {
            MrtError::Invalid {
                what: "_ET record length",
                offset: start + 8,
                value: u64::from(h.length),
            }
        } else {
            return Ok(());
        };
        self.state = match self.recovery {
            Recovery::Stop => State::Done,
            Recovery::Resync => State::Resync(hb),
        };
        Err(err)
    }

    fn plausible(&self, h: &CommonHeader) -> bool {
        let near = self
            .last_timestamp
            .is_none_or(|t| h.timestamp.abs_diff(t) <= RESYNC_TIME_WINDOW);
        mrt_type::is_known(h.mrt_type) && h.subtype < 256 && h.length <= self.max_len && near
    }

    /// Reads the microsecond field and the body into the buffer.
    fn read_body(
        &mut self,
        start: u64,
        mut header: CommonHeader,
    ) -> Result<(CommonHeader, bool), MrtError> {
        let mut body_len = header.length;
        let declared = u64::from(header.length) + HEADER_LEN as u64;
        if header.is_extended() {
            let mut us = [0u8; 4];
            let n = read_full(&mut self.inner, &mut us).map_err(|e| self.fatal_io(&e))?;
            self.offset += n as u64;
            if n < 4 {
                return Err(self.truncated(start, declared));
            }
            header.microseconds = Some(u32::from_be_bytes(us));
            body_len -= 4;
        }
        self.buf.clear();
        let got = (&mut self.inner)
            .take(u64::from(body_len))
            .read_to_end(&mut self.buf)
            .map_err(|e| self.fatal_io(&e))?;
        self.offset += got as u64;
        if got < body_len as usize {
            return Err(self.truncated(start, declared));
        }
        let mut corrected = false;
        if header.mrt_type == mrt_type::TABLE_DUMP
            && table_dump::needs_length_correction(header.subtype, &self.buf)
        {
            let mut extra = [0u8; 4];
            let n = read_full(&mut self.inner, &mut extra).map_err(|e| self.fatal_io(&e))?;
            self.offset += n as u64;
            if n < 4 {
                return Err(self.truncated(start, declared + 4));
            }
            self.buf.extend_from_slice(&extra);
            corrected = true;
        }
        Ok((header, corrected))
    }

    fn truncated(&mut self, start: u64, needed: u64) -> MrtError {
        self.state = State::Done;
        MrtError::TruncatedRecord {
            offset: start,
            needed,
            available: self.offset - start,
        }
    }

    /// Slides a 12-byte window forward until it holds a plausible header.
    /// Returns `Ok(None)` at end of input, `Err(ResyncFailed)` when the
    /// budget (the record bound) runs out.
    fn scan(&mut self, mut w: [u8; HEADER_LEN]) -> Result<Option<[u8; HEADER_LEN]>, MrtError> {
        let from = self.offset - HEADER_LEN as u64;
        let mut scanned: u64 = 0;
        loop {
            if self.plausible(&CommonHeader::decode(w)) {
                self.stats.resyncs += 1;
                self.stats.skipped_bytes += scanned;
                return Ok(Some(w));
            }
            if scanned >= u64::from(self.max_len) {
                self.state = State::Done;
                return Err(MrtError::ResyncFailed {
                    offset: from,
                    scanned,
                });
            }
            let mut b = [0u8; 1];
            let n = read_full(&mut self.inner, &mut b).map_err(|e| self.fatal_io(&e))?;
            if n == 0 {
                self.state = State::Done;
                self.stats.skipped_bytes += scanned + HEADER_LEN as u64;
                return Ok(None);
            }
            self.offset += 1;
            scanned += 1;
            w.rotate_left(1);
            if let Some(last) = w.last_mut() {
                *last = b[0];
            }
        }
    }
}
