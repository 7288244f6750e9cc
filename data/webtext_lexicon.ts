/**
 * The words of the "web text" corpus (`data/webtext.ts`) that chapters 09–13's base model is
 * pre-trained on: Chinese nouns with their English, by kind, each marked with the role it plays
 * in the zero-shot tests of chapter 09:
 *
 * - `taught`: its translation appears in every frame, the request frame of the test included
 *   (请将“猫”翻译成英文。 — cat);
 * - `held-out`: its translation appears in other frames (glossaries, bilingual notes, dialogues),
 *   never in the request frame, so asking for it in that frame is a new instance of a known fact;
 * - `control`: the Chinese word and the English word both occur (in Chinese prose and in English
 *   sentences), but never together, so no page says what it is in English: the model must fail.
 *
 * @module
 */

/** A word's role in chapter 09's translation test. */
export type Role = "taught" | "held-out" | "control";

/** A noun: its Chinese, its English, its kind (the category the corpus states) and its role. */
export interface Noun {
  zh: string;
  en: string;
  kind: Kind;
  role: Role;
}

/** The kinds of noun, with the Chinese word the corpus uses for each (猫是一种动物). */
export const KINDS = {
  animal: "动物",
  fruit: "水果",
  thing: "物品",
  job: "职业",
  nature: "自然",
} as const;
/** A kind of noun. */
export type Kind = keyof typeof KINDS;

/**
 * [zh, en] per kind, in a fixed order; the roles go by position: the first six of a kind are
 * taught, the next four held out and the last two the controls.
 */
const WORDS: Record<Kind, [string, string][]> = {
  animal: [
    ["猫", "cat"],
    ["狗", "dog"],
    ["鸟", "bird"],
    ["鱼", "fish"],
    ["马", "horse"],
    ["牛", "cow"],
    ["羊", "sheep"],
    ["老虎", "tiger"],
    ["兔子", "rabbit"],
    ["猴子", "monkey"],
    ["熊", "bear"],
    ["狼", "wolf"],
  ],
  fruit: [
    ["苹果", "apple"],
    ["香蕉", "banana"],
    ["橘子", "orange"],
    ["葡萄", "grape"],
    ["西瓜", "watermelon"],
    ["桃子", "peach"],
    ["梨", "pear"],
    ["草莓", "strawberry"],
    ["柠檬", "lemon"],
    ["樱桃", "cherry"],
    ["芒果", "mango"],
    ["菠萝", "pineapple"],
  ],
  thing: [
    ["书", "book"],
    ["笔", "pen"],
    ["桌子", "table"],
    ["椅子", "chair"],
    ["门", "door"],
    ["杯子", "cup"],
    ["窗户", "window"],
    ["床", "bed"],
    ["帽子", "hat"],
    ["鞋", "shoe"],
    ["钟", "clock"],
    ["碗", "bowl"],
  ],
  job: [
    ["学生", "student"],
    ["老师", "teacher"],
    ["医生", "doctor"],
    ["工人", "worker"],
    ["农民", "farmer"],
    ["厨师", "cook"],
    ["司机", "driver"],
    ["护士", "nurse"],
    ["画家", "painter"],
    ["歌手", "singer"],
    ["作家", "writer"],
    ["律师", "lawyer"],
  ],
  nature: [
    ["水", "water"],
    ["火", "fire"],
    ["山", "mountain"],
    ["河", "river"],
    ["树", "tree"],
    ["花", "flower"],
    ["太阳", "sun"],
    ["月亮", "moon"],
    ["星星", "star"],
    ["雪", "snow"],
    ["云", "cloud"],
    ["海", "sea"],
  ],
};

/** The role of the i-th word of a kind. */
function roleAt(i: number): Role {
  return i < 6 ? "taught" : i < 10 ? "held-out" : "control";
}

/** The role of the i-th pair of {@link ANTONYMS}. */
export function antonymRole(i: number): Role {
  return i < 10 ? "taught" : i < 14 ? "held-out" : "control";
}

/** Every noun, kind by kind. */
export const NOUNS: readonly Noun[] = (Object.keys(WORDS) as Kind[]).flatMap((kind) =>
  WORDS[kind].map(([zh, en], i) => ({ zh, en, kind, role: roleAt(i) }))
);

/** The nouns of one role. */
export function nounsWithRole(role: Role): Noun[] {
  return NOUNS.filter((n) => n.role === role);
}

/**
 * Adjectives with their antonym, [a, antonym of a]: the 反义词 relation. The roles go by
 * position as for the nouns: the first ten taught, the next four held out, the last two controls.
 */
export const ANTONYMS: readonly [string, string][] = [
  ["大", "小"],
  ["高", "矮"],
  ["长", "短"],
  ["多", "少"],
  ["快", "慢"],
  ["新", "旧"],
  ["冷", "热"],
  ["远", "近"],
  ["轻", "重"],
  ["早", "晚"],
  ["深", "浅"],
  ["胖", "瘦"],
  ["宽", "窄"],
  ["干", "湿"],
  ["黑", "白"],
  ["忙", "闲"],
];

/** Given names of the people in the stories and passages (two characters each). */
export const NAMES: readonly string[] = [
  "小明",
  "小红",
  "小刚",
  "小丽",
  "小华",
  "小芳",
  "小军",
  "小兰",
  "阿强",
  "阿美",
  "大山",
  "文文",
  "乐乐",
  "天天",
  "青青",
  "东东",
];

/** Places (cities) the people live in or travel to. */
export const CITIES: readonly string[] = [
  "北京",
  "上海",
  "广州",
  "深圳",
  "杭州",
  "南京",
  "成都",
  "西安",
  "武汉",
  "长沙",
  "天津",
  "重庆",
];

/** Places in a town where a story happens, each with what people do there. */
export const PLACES: readonly { place: string; activity: string }[] = [
  { place: "公园", activity: "跑步" },
  { place: "图书馆", activity: "看书" },
  { place: "学校", activity: "上课" },
  { place: "河边", activity: "钓鱼" },
  { place: "山上", activity: "爬山" },
  { place: "海边", activity: "游泳" },
  { place: "商店", activity: "买东西" },
  { place: "医院", activity: "看病" },
  { place: "农场", activity: "种菜" },
  { place: "厨房", activity: "做饭" },
];

/** Chinese numerals 0–10, for sums written out in words. */
export const NUMERALS: readonly string[] = [
  "零",
  "一",
  "二",
  "三",
  "四",
  "五",
  "六",
  "七",
  "八",
  "九",
  "十",
];

/**
 * Pairs of label words for the classification games of the corpus (a page assigns the two words
 * to two kinds of noun at random, so only the page itself tells which label goes with which).
 */
export const LABEL_PAIRS: readonly [string, string][] = [
  ["左", "右"],
  ["甲", "乙"],
  ["上", "下"],
  ["前", "后"],
  ["阴", "阳"],
  ["天", "地"],
  ["金", "银"],
  ["春", "秋"],
];
