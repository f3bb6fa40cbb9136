import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../middleware/auth.decorators';
import { StatusAssetRepository } from '../repositories/status-asset.repository';

/**
 * Same-origin files only, no inline script or style: the page's own script is the only code that runs, and it can
 * only talk to this controller.
 */
export const STATUS_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The HTML status page: a shell of static files that holds no data, hence public. Its script asks for an API token
 * and reads the fleet report and host histories from the JSON API with it, like any other client.
 */
@Public()
@ApiExcludeController()
@Controller('status')
export class StatusPageController {
  constructor(private readonly files: StatusAssetRepository) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', STATUS_PAGE_CSP)
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  page(): string {
    return this.files.assets.html;
  }

  @Get('status.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  stylesheet(): string {
    return this.files.assets.css;
  }

  @Get('status.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  script(): string {
    return this.files.assets.script;
  }
}
