/**
 * What the weights of a class-conditioned discriminator record: the meta column that holds a pair's class and how
 * many classes there are (config `conditioning.column` / `conditioning.classes`, ts/config/guidance.ts).
 */
export interface ClassConditioning {
  column: string;
  classes: number;
}
