import { Injectable } from '@nestjs/common';
import { type CreateHostResponse, type HostResponse } from '@berth/contracts';
import { type CreateHostDto, mapCreatedHost, mapHost } from '../dtos/host.dto';
import { DomainError } from '../errors/domain.error';
import { ErrorCode } from '../errors/error-code';
import { isUniqueViolation } from '../errors/prisma-errors';
import { type Host } from '../generated/prisma/client';
import { HostRepository } from '../repositories/host.repository';
import { generateEnrollmentSecret, hashSecret } from '../utils/secret.util';
import { isUuid } from '../utils/uuid.util';

@Injectable()
export class HostService {
  constructor(private readonly hosts: HostRepository) {}

  async create(dto: CreateHostDto): Promise<CreateHostResponse> {
    const enrollmentSecret = generateEnrollmentSecret();
    try {
      const host = await this.hosts.create({ name: dto.name, paths: dto.paths, excludes: dto.excludes ?? [], enrollmentSecretHash: hashSecret(enrollmentSecret) });
      return mapCreatedHost(host, enrollmentSecret);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError(ErrorCode.AlreadyExists, `Host "${dto.name}" already exists`);
      }
      throw error;
    }
  }

  async list(): Promise<HostResponse[]> {
    return (await this.hosts.list()).map(mapHost);
  }

  async get(idOrName: string): Promise<HostResponse> {
    return mapHost(await this.findOrThrow(idOrName));
  }

  /** A host by id or by name (names are never UUID-shaped, so the form decides). */
  async findOrThrow(idOrName: string): Promise<Host> {
    const host = isUuid(idOrName) ? await this.hosts.findById(idOrName) : await this.hosts.findByName(idOrName);
    if (host === null) {
      throw new DomainError(ErrorCode.HostNotFound, `Host "${idOrName}" not found`);
    }
    return host;
  }
}
