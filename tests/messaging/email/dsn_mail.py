"""Bounce mail as Postfix writes it (RFC 3464), and an abuse report as a mailbox provider sends it (RFC 5965)."""


def dsn(recipient: str, status: str, action: str, diagnostic: str, original_headers: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.co.kr (Mail Delivery System)\r\n"
        "To: bounces@funnelwise.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Sun, 22 Nov 2026 10:05:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\r\n'
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.co.kr\r\n"
        "Arrival-Date: Sun, 22 Nov 2026 10:04:59 +0900\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mail.example.co.kr\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"{original_headers}"
        "\r\n"
        "--B0UND--\r\n"
    ).encode()


def abuse_report(recipient: str, original_headers: str) -> bytes:
    return (
        "From: fbl@mailbox.example\r\n"
        "To: bounces@funnelwise.example\r\n"
        "Subject: FW: Abuse report\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"\r\n'
        "\r\n"
        "--ARF\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "This is an email abuse report.\r\n"
        "--ARF\r\n"
        "Content-Type: message/feedback-report\r\n"
        "\r\n"
        "Feedback-Type: abuse\r\n"
        "User-Agent: ExampleFBL/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n"
        "\r\n"
        "--ARF\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"{original_headers}"
        "\r\n"
        "--ARF--\r\n"
    ).encode()


def headers_of(message_id: str, to: str) -> str:
    return (
        "From: =?utf-8?b?7Y6A64SQ7JmA7J207KaI?= <hello@funnelwise.example>\r\n"
        f"To: {to}\r\n"
        "Subject: November news\r\n"
        f"Message-ID: {message_id}\r\n"
    )
