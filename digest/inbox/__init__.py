"""What comes back: bounces (RFC 3464), complaints (ARF, RFC 5965) and mailto unsubscribes."""
