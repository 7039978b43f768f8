/** Trailhound's version, as products that receive its output name it (OCSF `metadata.product.version`). Kept equal to package.json's. */
export const TRAILHOUND_VERSION = '0.1.0';
