/** The words every label of distilled scores carries (hover, inlay hints), as the view says them. */
export { distilledProvenance } from '../../core/dataset/scoreColumns';
