//! The check digits personal numbers carry, written once: the Luhn check (payment cards) and
//! the ISO 7064 mod-97 check (IBANs). The detectors use them to accept only numbers whose
//! check passes; the `fake` generators use them to make numbers that pass.

/// The Luhn sum of ASCII digits given most significant first (walked left to right, so
/// nothing needs collecting). With `double_last` the last digit is one of the doubled ones
/// (the sum of a payload whose check digit is still to come); without it the doubled digits
/// are those at an odd distance from the last (the sum of a whole number).
fn luhn_sum(digits: impl Iterator<Item = u8>, double_last: bool) -> u32 {
    // `sums[p]`: the sum if digits at even index parity `p` are the doubled ones.
    let mut sums = [0u32; 2];
    let mut n = 0usize;
    for c in digits {
        let d = u32::from(c.wrapping_sub(b'0') % 10);
        let doubled = if d > 4 { d * 2 - 9 } else { d * 2 };
        let parity = n % 2;
        sums[parity] += doubled;
        sums[1 - parity] += d;
        n += 1;
    }
    // The last digit has index n - 1: doubled indices have parity (n - 1) % 2 when it is
    // doubled, n % 2 when it is not.
    if double_last { sums[(n + 1) % 2] } else { sums[n % 2] }
}

/// Luhn check over ASCII digits given most significant first.
pub(crate) fn luhn_digits(digits: impl Iterator<Item = u8>) -> bool {
    luhn_sum(digits, false).is_multiple_of(10)
}

/// Luhn check over the digits of `digits`, ignoring spaces and dashes. Any other character,
/// or fewer than two digits, gives `false`. Length rules (13 to 19 for cards) are the
/// caller's.
pub fn luhn_valid(digits: &str) -> bool {
    let mut n = 0usize;
    for c in digits.bytes() {
        match c {
            b'0'..=b'9' => n += 1,
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    n >= 2 && luhn_digits(digits.bytes().filter(u8::is_ascii_digit))
}

/// The digit that makes `payload` (ASCII digits) followed by it pass the Luhn check.
pub(crate) fn luhn_check_digit(payload: &[u8]) -> u8 {
    ((10 - luhn_sum(payload.iter().copied(), true) % 10) % 10) as u8
}

/// The remainder mod 97 of a number written in ASCII digits and letters, letters counting
/// as 10 (`A`, any case) to 35 (`Z`), as ISO 13616 reads an IBAN.
fn mod97(chars: impl Iterator<Item = u8>) -> u32 {
    chars.fold(0u32, |r, c| {
        if c.is_ascii_digit() {
            (r * 10 + u32::from(c - b'0')) % 97
        } else {
            (r * 100 + u32::from(c.to_ascii_uppercase().wrapping_sub(b'A') % 26) + 10) % 97
        }
    })
}

/// ISO 13616 IBAN check, ignoring spaces: 15 to 34 letters or digits (any case), starting
/// with two letters and two check digits in `02..=98`, and the mod-97 remainder of the
/// rearranged number equal to 1. The country's own length is not checked.
pub fn iban_valid(s: &str) -> bool {
    let chars = || s.bytes().filter(|&c| c != b' ');
    let len = chars().count();
    if !(15..=34).contains(&len) || !chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let mut head = chars();
    let (c0, c1, k0, k1) = match (head.next(), head.next(), head.next(), head.next()) {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => return false,
    };
    if !(c0.is_ascii_alphabetic() && c1.is_ascii_alphabetic() && k0.is_ascii_digit() && k1.is_ascii_digit()) {
        return false;
    }
    let check = (k0 - b'0') * 10 + (k1 - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    mod97(chars().skip(4).chain(chars().take(4))) == 1
}

/// ISO 13616 check digits: 98 - (BBAN + country + "00" as a number, letters as 10..35) mod 97.
pub(crate) fn iban_check_digits(country: &str, bban: &[u8]) -> u8 {
    (98 - mod97(bban.iter().chain(country.as_bytes()).chain(b"00").copied())) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("4111-1111-1111-1111"));
        assert!(luhn_valid("378282246310005"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4111.1111.1111.1111"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("0"));
        assert!(!luhn_valid("ab"));
        // Matches a straightforward right-to-left implementation on many inputs.
        let reference = |s: &str| {
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = u32::from(c - b'0');
                    if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
                })
                .sum();
            sum.is_multiple_of(10)
        };
        let mut x = 12345u64;
        for len in 2..25 {
            for _ in 0..200 {
                let s: String = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        char::from(b'0' + ((x >> 33) % 10) as u8)
                    })
                    .collect();
                assert_eq!(luhn_valid(&s), reference(&s), "{s}");
            }
        }
    }

    #[test]
    fn iban() {
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("gb82 west 1234 5698 7654 32"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(iban_valid("NO9386011117947"));
        assert!(iban_valid("MT84MALT011000012345MTLCAST001S"));
        assert!(!iban_valid("GB83WEST12345698765432"));
        assert!(!iban_valid("GB82WEST1234569876543"));
        assert!(!iban_valid("GB82-WEST-1234-5698-7654-32"));
        assert!(!iban_valid("1282WEST12345698765432"));
        assert!(!iban_valid(""));
        assert!(!iban_valid("GB82WEST12345698765432GB82WEST12345698765432"));
    }

    #[test]
    fn check_digits_complete_valid_numbers() {
        assert_eq!(luhn_check_digit(b"424242424242424"), 2);
        assert_eq!(luhn_check_digit(b"7992739871"), 3);
        assert_eq!(iban_check_digits("GB", b"WEST12345698765432"), 82);
        assert_eq!(iban_check_digits("DE", b"370400440532013000"), 89);
    }
}
