// Bounds a user-controlled label (template names, queues): the first N distinct values, then "other".
/** The label value every template or queue beyond the cap is counted under. */
export const OTHER_LABEL = 'other';

/**
 * Template names are chosen by API callers, so without a cap each new name would add series to
 * every scrape for the life of the process. The first `max` distinct values keep their own series
 * (a deployment has tens of templates, not thousands); later ones share `other`. A value stays
 * admitted for the life of the process, so a series never changes meaning mid-scrape.
 */
export class LabelCap {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }
}
