"""The words of hosted forms in Korean and English; a form's locale picks one."""

from typing import Literal

Locale = Literal["ko", "en"]

_TEXTS: dict[str, tuple[str, str]] = {
    # key: (Korean, English)
    "submit": ("제출", "Submit"),
    "required": ("필수", "required"),
    "choose": ("선택하세요", "Choose…"),
    "consents": ("수신 동의", "Consent"),
    "honeypot": ("이 칸은 비워 두세요", "Leave this field empty"),
    "errors_summary": ("입력 내용을 확인해 주세요.", "Please correct the errors below."),
    "thanks_title": ("감사합니다", "Thank you"),
    "thanks": ("제출해 주셔서 감사합니다.", "Thank you. Your response has been recorded."),
    "check_email": (
        "이메일로 보내 드린 링크를 눌러 수신 동의를 확인해 주세요.",
        "Please confirm your subscription with the link we emailed you.",
    ),
    "continue": ("계속하기", "Continue"),
    "error.required": ("필수 항목입니다.", "This field is required."),
    "error.email": ("올바른 이메일 주소를 입력해 주세요.", "Enter a valid email address."),
    "error.phone": ("올바른 전화번호를 입력해 주세요.", "Enter a valid phone number."),
    "error.choice": ("목록에서 선택해 주세요.", "Choose one of the options."),
    "error.invalid": ("입력값을 확인해 주세요.", "Check this value."),
    "error.contact": ("이메일 주소나 전화번호를 입력해 주세요.", "Enter an email address or a phone number."),
    "error.consent": ("동의가 필요합니다.", "Your consent is required."),
    "too_many_title": ("잠시 후 다시 시도해 주세요", "Please try again shortly"),
    "too_many": (
        "짧은 시간에 너무 많이 제출되었습니다. 1분 뒤에 다시 시도해 주세요.",
        "Too many submissions in a short time. Please try again in a minute.",
    ),
    "not_found_title": ("양식을 찾을 수 없습니다", "Form not found"),
    "not_found": ("주소를 다시 확인해 주세요.", "Please check the address."),
    "bad_request_title": ("요청을 처리할 수 없습니다", "The request could not be read"),
    "confirm_title": ("이메일 수신 동의 확인", "Confirm your subscription"),
    "confirm": (
        "아래 버튼을 누르면 이메일 수신 동의가 확인됩니다.",
        "Press the button below to confirm your email subscription.",
    ),
    "confirm_button": ("수신 동의 확인", "Confirm"),
    "confirmed_title": ("수신 동의가 확인되었습니다", "Subscription confirmed"),
    "confirmed": (
        "이메일 수신 동의가 확인되었습니다. 감사합니다.",
        "Your email subscription is confirmed. Thank you.",
    ),
    "bad_link_title": ("링크가 올바르지 않습니다", "This link is not valid"),
    "bad_link": (
        "링크가 잘렸거나 변경되었습니다. 받은 이메일의 링크를 그대로 열어 주세요.",
        "The link is incomplete or was changed. Please open the link from the email exactly as sent.",
    ),
    "gone_link": ("더 이상 사용할 수 없는 링크입니다.", "This link can no longer be used."),
    "mail_subject": (
        "[{name}] 이메일 수신 동의를 확인해 주세요",
        "[{name}] Please confirm your subscription",
    ),
    "mail_body": (
        "안녕하세요.\n\n아래 링크를 눌러 이메일 수신 동의를 확인해 주세요.\n\n{link}\n\n"
        "동의하신 내용: {wording}\n\n직접 신청하지 않으셨다면 이 메일을 무시하셔도 됩니다.\n",
        "Hello,\n\nPlease confirm your subscription by opening this link:\n\n{link}\n\n"
        "What you agreed to: {wording}\n\nIf you did not sign up, you can ignore this email.\n",
    ),
}

# Labels of contact fields when the form gives none.
_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "email": ("이메일", "Email"),
    "phone": ("휴대폰 번호", "Mobile phone"),
    "first_name": ("이름", "First name"),
    "last_name": ("성", "Last name"),
    "name": ("이름", "Name"),
    "job_title": ("직함", "Job title"),
    "company": ("회사명", "Company"),
}


def text(key: str, locale: Locale) -> str:
    korean, english = _TEXTS[key]
    return korean if locale == "ko" else english


def field_label(target: str, locale: Locale) -> str | None:
    labels = _FIELD_LABELS.get(target)
    if labels is None:
        return None
    return labels[0] if locale == "ko" else labels[1]


def preferred_locale(accept_language: str) -> Locale:
    """Korean unless the browser prefers English (pages not tied to one form)."""
    first = accept_language.split(",", 1)[0].strip().lower()
    return "en" if first.startswith("en") else "ko"
