/**
 * The words of chapter 08's tasks and of the unlabelled prose the body is pre-trained on: scene
 * words common in Tang poems, and the words that decide each task's label, split by task split
 * (train / validation / test) so that the deciding words of one split never occur in another.
 * `make_tasks.ts` builds the labelled tasks from them, `make_prose.ts` the unlabelled prose.
 *
 * @module
 */

/** A task split. */
export type Split = "train" | "validation" | "test";
/** The splits, in order. */
export const SPLITS: Split[] = ["train", "validation", "test"];

export const times = ["今日", "春来", "秋夜", "清晨", "黄昏", "雨后", "月下", "日暮"];
export const persons = ["游子", "老翁", "少年", "故人", "僧人", "渔父", "行人", "归客"];
export const places = ["江上", "山中", "楼上", "城外", "松下", "门前", "湖边", "桥头"];
export const actions = ["独坐", "相逢", "饮酒", "望月", "看花", "听雨", "吹笛", "回首"];

// Sentiment: feeling characters, disjoint between splits.
export const feelings: Record<Split, { positive: string[]; negative: string[] }> = {
  train: {
    positive: ["欢", "喜", "笑", "乐", "歌", "舞"],
    negative: ["愁", "悲", "泪", "恨", "苦", "哀"],
  },
  validation: { positive: ["悦", "欣", "酣"], negative: ["怨", "伤", "泣"] },
  test: { positive: ["畅", "庆", "贺", "兴"], negative: ["忧", "凄", "惨", "叹"] },
};

// Entailment: (adjective, synonym, antonym) triples, disjoint between splits.
export const triples: Record<Split, [string, string, string][]> = {
  train: [
    ["寒", "冷", "暖"],
    ["明", "亮", "暗"],
    ["远", "遥", "近"],
    ["多", "众", "少"],
    ["白", "素", "黑"],
    ["大", "巨", "小"],
    ["长", "久", "短"],
  ],
  validation: [["深", "幽", "浅"], ["满", "盈", "空"], ["高", "峻", "低"]],
  test: [["静", "寂", "喧"], ["清", "澈", "浊"], ["新", "鲜", "旧"], ["疾", "快", "慢"]],
};
export const objects = ["天", "水", "山", "路", "夜", "江", "城", "林"];

// Similarity: synonym pairs per slot, disjoint between splits (two per slot per split).
export const synonyms: Record<Split, Record<"time" | "person" | "place" | "action", string[][]>> = {
  train: {
    time: [["黄昏", "日暮"], ["清晨", "拂晓"]],
    person: [["老翁", "老叟"], ["朋友", "友人"]],
    place: [["江边", "江畔"], ["山中", "山间"]],
    action: [["归来", "回来"], ["饮酒", "把酒"]],
  },
  validation: {
    time: [["深夜", "半夜"], ["春天", "春日"]],
    person: [["游子", "旅人"], ["美人", "佳人"]],
    place: [["故乡", "家乡"], ["城外", "郊外"]],
    action: [["哭泣", "落泪"], ["远望", "眺望"]],
  },
  test: {
    time: [["秋天", "秋日"], ["傍晚", "薄暮"]],
    person: [["孩童", "小儿"], ["书生", "儒生"]],
    place: [["楼上", "楼头"], ["河边", "水边"]],
    action: [["睡觉", "入眠"], ["歌唱", "放歌"]],
  },
};
export const SLOTS = ["time", "person", "place", "action"] as const;

// Multiple choice: situations (cues → fitting endings). Situation i of every split is of the
// same kind (cold, heat, rain, weariness at night, hunger) told in other words: the words
// are disjoint between splits, the kinds are shared, so what transfers is knowing which kind
// a new word belongs to.
export interface Situation {
  cues: string[];
  endings: string[];
}
export const situations: Record<Split, Situation[]> = {
  train: [
    { cues: ["天寒地冻", "大雪纷飞"], endings: ["添衣取暖", "围炉而坐"] },
    { cues: ["烈日当空", "暑气逼人"], endings: ["摇扇纳凉", "入林避暑"] },
    { cues: ["大雨倾盆", "阴雨连绵"], endings: ["披蓑回家", "闭门听雨"] },
    { cues: ["夜深人静", "月落星沉"], endings: ["吹灯入睡", "掩门安眠"] },
    { cues: ["一日未食", "腹中空虚"], endings: ["煮饭充饥", "取食果腹"] },
  ],
  validation: [
    { cues: ["北风呼啸", "滴水成冰"], endings: ["披上皮裘", "紧闭门窗"] },
    { cues: ["赤日炎炎", "汗流浃背"], endings: ["泉边洗面", "树荫乘风"] },
    { cues: ["乌云压城", "细雨霏霏"], endings: ["戴笠出门", "收衣进屋"] },
    { cues: ["更深漏尽", "困倦难支"], endings: ["解衣就寝", "闭目养神"] },
    { cues: ["饥饿难耐", "粒米未进"], endings: ["生火煮粥", "沽酒买肉"] },
  ],
  test: [
    { cues: ["朔风凛冽", "冰封千里"], endings: ["烤火御寒", "裹紧棉袍"] },
    { cues: ["骄阳高照", "酷热难当"], endings: ["临溪濯足", "解开衣襟"] },
    { cues: ["电闪雷鸣", "暴雨如注"], endings: ["撑伞疾行", "檐下躲避"] },
    { cues: ["走了一天", "筋疲力尽"], endings: ["倒头便睡", "坐下歇息"] },
    { cues: ["饥肠辘辘", "三餐未进"], endings: ["烧水做饭", "买饼来吃"] },
  ],
};
export const fillers = ["四下无人", "心中思量", "不知如何", "独自一人", "左右徘徊"];
