// The chat's on-screen keyboard layouts, one per script the booth's languages use. Each layout is
// rows of keys; "shift" says how to make capitals (Turkish has its own dotted/dotless i).
export const LAYOUTS = {
  latin: { rows: ["1234567890", "qwertzuiopü", "asdfghjklöä", "yxcvbnmß"], shift: "de" },
  tr: { rows: ["1234567890", "qwertyuıopğü", "asdfghjklşi", "zxcvbnmöç"], shift: "tr" },
  ar: { rows: ["١٢٣٤٥٦٧٨٩٠", "ضصثقفغعهخحج", "شسيبلاتنمكط", "ذئءؤرىةوزظد"], shift: null, dir: "rtl" },
  uk: { rows: ["1234567890", "йцукенгшщзхї", "фівапролджє", "ґячсмитьбю"], shift: "uk" },
  ru: { rows: ["1234567890", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбюё"], shift: "ru" },
};
export const PUNCTUATION = ".,?!-:";
// Which layout a booth language starts with (the customer can switch).
export const DEFAULT_LAYOUT = { de: "latin", en: "latin", tr: "tr", ar: "ar", uk: "uk", ru: "ru" };
