import { Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The status page's files: apps/controller/assets/status, beside src/ and dist/ (both one level below the app). */
export const STATUS_ASSET_DIR = join(__dirname, '..', '..', 'assets', 'status');

export interface StatusAssets {
  readonly html: string;
  readonly css: string;
  readonly script: string;
}

/** The status page's three static files, read once when the controller starts (a missing one fails the boot). */
@Injectable()
export class StatusAssetRepository {
  readonly assets: StatusAssets;

  constructor() {
    const read = (name: string): string => readFileSync(join(STATUS_ASSET_DIR, name), 'utf8');
    this.assets = { html: read('index.html'), css: read('status.css'), script: read('status.js') };
  }
}
