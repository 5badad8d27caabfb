// Generated from rtc/thresholds.py (python -m videokiosk.pages): edit the numbers there.
export const GOOD_KBPS = 750;
export const POOR_KBPS = 350;
export const GOOD_LOSS_PCT = 5;
export const POOR_LOSS_PCT = 10;
