import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import { type GroupResponse } from '@berth/contracts';
import { CreateGroupDto, UpdateGroupDto } from '../dtos/group.dto';
import { GroupService } from '../services/group.service';

/** Host groups, addressed by id or by name (`:idOrName`). */
@Controller('groups')
export class GroupController {
  constructor(private readonly groups: GroupService) {}

  @Post()
  create(@Body() dto: CreateGroupDto): Promise<GroupResponse> {
    return this.groups.create(dto);
  }

  @Get()
  list(): Promise<GroupResponse[]> {
    return this.groups.list();
  }

  @Get(':idOrName')
  get(@Param('idOrName') idOrName: string): Promise<GroupResponse> {
    return this.groups.get(idOrName);
  }

  @Patch(':idOrName')
  update(@Param('idOrName') idOrName: string, @Body() dto: UpdateGroupDto): Promise<GroupResponse> {
    return this.groups.update(idOrName, dto);
  }

  @Post(':idOrName/pause')
  @HttpCode(HttpStatus.OK)
  pause(@Param('idOrName') idOrName: string): Promise<GroupResponse> {
    return this.groups.setPaused(idOrName, true);
  }

  @Post(':idOrName/unpause')
  @HttpCode(HttpStatus.OK)
  unpause(@Param('idOrName') idOrName: string): Promise<GroupResponse> {
    return this.groups.setPaused(idOrName, false);
  }
}
