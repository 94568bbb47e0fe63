//! Go's unsigned varint (`encoding/binary.Uvarint`, little-endian base 128): the one
//! reader for every format that uses it (heap dumps, pclntab, build info), so all of
//! them accept and refuse exactly the same bytes.

/// Why the bytes hold no varint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The bytes end before the last byte of the varint.
    PastEnd,
    /// Ten bytes, and the last one still says more follow.
    TooLong,
    /// The value needs more than 64 bits.
    Overflow,
}

/// The varint at the front of `bytes`, and how many bytes it took (1 to 10).
#[inline]
pub fn uvarint(bytes: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(10).enumerate() {
        if i == 9 && b > 1 {
            return Err(if b & 0x80 != 0 {
                VarintError::TooLong
            } else {
                VarintError::Overflow
            });
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((value, i + 1));
        }
    }
    // Ten bytes always end above (a value or an error): fewer ran out.
    Err(VarintError::PastEnd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_go_encoding_binary() {
        // Encodings as Go's binary.PutUvarint writes them.
        assert_eq!(uvarint(&[0]), Ok((0, 1)));
        assert_eq!(uvarint(&[0x7f, 0xff]), Ok((127, 1)));
        assert_eq!(uvarint(&[0xac, 0x02]), Ok((300, 2)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uvarint(&max), Ok((u64::MAX, 10)));
        let mut over = max;
        over[9] = 0x02;
        assert_eq!(uvarint(&over), Err(VarintError::Overflow));
        over[9] = 0x81;
        assert_eq!(uvarint(&over), Err(VarintError::TooLong));
        assert_eq!(uvarint(&[]), Err(VarintError::PastEnd));
        assert_eq!(uvarint(&[0x80, 0x80]), Err(VarintError::PastEnd));
    }
}
