import { Injectable } from '@nestjs/common';
import { type AuditPage } from '@berth/contracts';
import { AUDIT_LIMIT_DEFAULT, type AuditQueryDto, mapAuditEvent } from '../dtos/audit.dto';
import { AuditRepository, type NewAuditEvent } from '../repositories/audit.repository';

@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  record(event: NewAuditEvent): Promise<void> {
    return this.audit.record(event);
  }

  async find(query: AuditQueryDto): Promise<AuditPage> {
    const limit = query.limit ?? AUDIT_LIMIT_DEFAULT;
    const rows = await this.audit.find({
      ...(query.tokenId !== undefined ? { tokenId: query.tokenId } : {}),
      ...(query.actor !== undefined ? { actor: query.actor } : {}),
      ...(query.action !== undefined ? { action: query.action } : {}),
      ...(query.target !== undefined ? { target: query.target } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.before !== undefined ? { before: BigInt(query.before) } : {}),
      limit,
    });
    const last = rows.at(-1);
    return { events: rows.map(mapAuditEvent), nextBefore: rows.length === limit && last !== undefined ? last.id.toString() : null };
  }
}
