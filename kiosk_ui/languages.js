// Generated from rtc/protocol.py LANGUAGES (python -m videokiosk.pages): edit the list there.
export const LANGUAGES = ["de", "en", "tr", "ar", "uk", "ru"];
