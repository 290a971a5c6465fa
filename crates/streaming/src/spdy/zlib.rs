//! SPDY/3 header block compression: one zlib stream per direction, primed with the
//! dictionary of the SPDY/3 specification.

use std::sync::OnceLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::{Error, Result};

/// Header names of the specification's dictionary, each preceded by its 32-bit length.
const WORDS: [&str; 66] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
    "",
];

/// The dictionary's tail: status codes, reason phrases, dates and common values, unprefixed.
const TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
);

/// The SPDY/3 header compression dictionary.
pub fn dictionary() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let mut d = Vec::with_capacity(1500);
        for w in WORDS.iter().filter(|w| !w.is_empty()) {
            d.extend_from_slice(&(w.len() as u32).to_be_bytes());
            d.extend_from_slice(w.as_bytes());
        }
        d.extend_from_slice(TAIL.as_bytes());
        d
    })
}

/// Compresses successive header blocks of one direction.
pub struct HeaderCompressor {
    z: Compress,
    primed: bool,
}

impl Default for HeaderCompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderCompressor {
    pub fn new() -> Self {
        HeaderCompressor {
            z: Compress::new(Compression::default(), true),
            primed: false,
        }
    }

    /// Compress one block, sync-flushed so the peer can decode it on its own.
    pub fn compress(&mut self, block: &[u8]) -> Result<Vec<u8>> {
        if !self.primed {
            self.z
                .set_dictionary(dictionary())
                .map_err(|e| Error::Compression(e.to_string()))?;
            self.primed = true;
        }
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut input = block;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before_in = self.z.total_in();
            self.z
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| Error::Compression(e.to_string()))?;
            let used = (self.z.total_in() - before_in) as usize;
            input = &input[used..];
            // Done once all input is consumed and the flush left spare room.
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// Decompresses successive header blocks of one direction.
pub struct HeaderDecompressor {
    z: Decompress,
}

impl Default for HeaderDecompressor {
    fn default() -> Self {
        Self::new()
    }
}

/// Largest decompressed header block accepted.
pub const MAX_HEADER_BLOCK: usize = 1 << 20;

impl HeaderDecompressor {
    pub fn new() -> Self {
        HeaderDecompressor {
            z: Decompress::new(true),
        }
    }

    /// Decompress one block (all of `data` belongs to it).
    pub fn decompress(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() * 4 + 64);
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(1024);
            }
            let before_in = self.z.total_in();
            let before_out = out.len();
            let res = self
                .z
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = (self.z.total_in() - before_in) as usize;
            input = &input[used..];
            match res {
                Ok(Status::StreamEnd) => return Ok(out),
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(dictionary())
                        .map_err(|e| Error::Compression(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(Error::Compression(e.to_string())),
            }
            if out.len() > MAX_HEADER_BLOCK {
                return Err(Error::Compression("header block too large".into()));
            }
            let progressed = used > 0 || out.len() > before_out;
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
            if !progressed {
                return Err(Error::Compression("truncated header block".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_the_specified_one() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b"enq=0."));
        // zlib's dictionary id is the Adler-32 of the dictionary.
        let (mut a, mut b) = (1u32, 0u32);
        for &x in d {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!((b << 16) | a, 0xe3c6_a7c2);
    }

    #[test]
    fn blocks_round_trip_across_one_stream() {
        let mut c = HeaderCompressor::new();
        let mut d = HeaderDecompressor::new();
        for block in [&b"first block streamtype error"[..], b"", b"second: stdout"] {
            let z = c.compress(block).expect("compress");
            assert_eq!(d.decompress(&z).expect("decompress"), block);
        }
    }

    #[test]
    fn first_block_declares_the_dictionary() {
        let mut c = HeaderCompressor::new();
        let z = c.compress(b"x").expect("compress");
        // FDICT flag set in the zlib header.
        assert_ne!(z[1] & 0x20, 0);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut d = HeaderDecompressor::new();
        assert!(d.decompress(b"\x00\x01garbage").is_err());
    }
}
